// Svelte compiler options shared by Vite and svelte-check.
export default {
  compilerOptions: {
    // Runes everywhere: the portal is Svelte 5 only.
    runes: true,
  },
};
