import type { Role } from './api';

export const roleLabel: Record<Role, string> = {
  masteradmin: 'Master admin',
  domainadmin: 'Domain admin',
  user: 'Mail user',
};

export const roleSummary: Record<Role, string> = {
  masteradmin: 'You run the whole server: every domain and account, the server settings and the other admins.',
  domainadmin: 'You manage the domains assigned to you and the mailboxes, aliases and addresses inside them.',
  user: 'You manage your own mailbox: password, display name and forwards.',
};
