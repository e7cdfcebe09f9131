package access

import (
	"testing"

	"mailport/internal/store"
)

func principal(role store.Role, login string, domains ...string) Principal {
	return Principal{Account: store.Account{Address: login, Role: role, Enabled: true}, Domains: domains, Via: ViaAPI}
}

func TestChecks(t *testing.T) {
	master := principal(store.RoleMasterAdmin, "admin")
	da := principal(store.RoleDomainAdmin, "bob", "a.example")
	user := principal(store.RoleUser, "amy@a.example")
	// A MailUser with the name of a domain in Domains gains nothing:
	// only DomainAdmins' domains count.
	forged := principal(store.RoleUser, "x@a.example", "a.example")

	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"cli is master", CanManageAdmins(CLI()), true},
		{"master domain", CanManageDomain(master, "any.example"), true},
		{"da own domain", CanManageDomain(da, "a.example"), true},
		{"da own domain upper case", CanManageDomain(da, "A.Example"), true},
		{"da other domain", CanManageDomain(da, "b.example"), false},
		{"da empty domain", CanManageDomain(da, ""), false},
		{"user domain", CanManageDomain(user, "a.example"), false},
		{"user with forged domains", CanManageDomain(forged, "a.example"), false},
		{"da create domain", CanCreateDomain(da), true},
		{"user create domain", CanCreateDomain(user), false},
		{"da mailbox own", CanManageMailbox(da, "x@a.example"), true},
		{"da mailbox other", CanManageMailbox(da, "x@b.example"), false},
		{"da mailbox suffix trick", CanManageMailbox(da, "x@evila.example"), false},
		{"user manage self", CanManageMailbox(user, "amy@a.example"), false},
		{"user read self", CanReadMailbox(user, "AMY@a.example"), true},
		{"user read other", CanReadMailbox(user, "zed@a.example"), false},
		{"user self password", CanUpdateMailbox(user, "amy@a.example", MailboxChange{Password: true, DisplayName: true}), true},
		{"user self quota", CanUpdateMailbox(user, "amy@a.example", MailboxChange{Quota: true}), false},
		{"user self enabled", CanUpdateMailbox(user, "amy@a.example", MailboxChange{Enabled: true}), false},
		{"user other name", CanUpdateMailbox(user, "zed@a.example", MailboxChange{DisplayName: true}), false},
		{"da quota own", CanUpdateMailbox(da, "zed@a.example", MailboxChange{Quota: true}), true},
		{"user forwards self", CanManageForwards(user, "amy@a.example"), true},
		{"user forwards other", CanManageForwards(user, "zed@a.example"), false},
		{"da relay below own", CanManageRelayDomain(da, "branch.a.example"), true},
		{"da relay own name", CanManageRelayDomain(da, "a.example"), false},
		{"da relay elsewhere", CanManageRelayDomain(da, "branch.b.example"), false},
		{"da relay suffix trick", CanManageRelayDomain(da, "xa.example"), false},
		{"forged relay", CanManageRelayDomain(forged, "branch.a.example"), false},
		{"master admins", CanManageAdmins(master), true},
		{"da admins", CanManageAdmins(da), false},
		{"da server", CanManageServer(da), false},
		{"da audit", CanReadAudit(da), true},
		{"user audit", CanReadAudit(user), false},
		{"user own credentials", CanManageCredentials(user, "amy@a.example"), true},
		{"user other credentials", CanManageCredentials(user, "bob"), false},
		{"da other credentials", CanManageCredentials(da, "amy@a.example"), false},
		{"master credentials", CanManageCredentials(master, "amy@a.example"), true},
		{"empty login is nobody's self", IsSelf(Principal{}, ""), false},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}
