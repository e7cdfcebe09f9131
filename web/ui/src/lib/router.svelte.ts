// A minimal history router: the portal's pages are plain paths (/, /domains,
// ...) and the Go handler answers every non-API path with index.html, so a
// reload or a shared link lands on the same page.

class Location {
  path = $state(window.location.pathname);
}

export const location = new Location();

window.addEventListener('popstate', () => {
  location.path = window.location.pathname;
});

/** navigate changes the page without a reload and records it in history. */
export function navigate(to: string): void {
  if (to !== window.location.pathname) {
    window.history.pushState(null, '', to);
  }
  location.path = to;
}

/**
 * linkClick turns a click on an internal <a href> into navigate(), leaving
 * modified clicks (new tab, new window, download) to the browser.
 */
export function linkClick(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.currentTarget as HTMLAnchorElement;
  if (a.origin !== window.location.origin || a.target !== '') return;
  e.preventDefault();
  navigate(a.pathname);
}
