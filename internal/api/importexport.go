package api

import (
	"context"
	"errors"
	"mime"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"mailport/internal/directory"
)

type exportInput struct {
	Format string `query:"format" enum:"csv,json" default:"csv"`
	Kinds  string `query:"kinds" maxLength:"200" doc:"Comma-separated kinds (domains, domain_aliases, relay_domains, mailboxes, aliases, sender_addresses, forwards); default all"`
}

type exportOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Body               []byte
}

type importInput struct {
	Format  string `query:"format" enum:"csv,json" doc:"Default from Content-Type: text/csv or application/json"`
	DryRun  bool   `query:"dry_run" doc:"Validate and report what would be created, changing nothing (preview)"`
	RawBody []byte `contentType:"text/csv"`
}

type importOutput struct {
	Body directory.ImportReport
}

func (a *API) registerImportExport() {
	o := op("exportDirectory", http.MethodGet, "/export", "Export the caller's domains, mailboxes, aliases, forwards, sender addresses, domain aliases and relay domains", "import-export")
	o.Description = "CSV or JSON in the form POST /import reads. Password hashes and SCRAM-SHA-256 credentials are exported so mailboxes re-import with their passwords and SCRAM logins keep working."
	huma.Register(a.humaAPI, o, func(ctx context.Context, in *exportInput) (*exportOutput, error) {
		kinds, err := directory.ParseKinds(in.Kinds)
		if err != nil {
			return nil, invalid("query.kinds", err.Error())
		}
		format := directory.Format(in.Format)
		if format == "" {
			format = directory.FormatCSV
		}
		b, err := a.scope(ctx).Export(ctx, format, kinds)
		if err != nil {
			return nil, a.errorFor(ctx, err)
		}
		ct := "text/csv; charset=utf-8"
		if format == directory.FormatJSON {
			ct = "application/json"
		}
		return &exportOutput{ContentType: ct, ContentDisposition: `attachment; filename="mailport-export.` + string(format) + `"`, Body: b}, nil
	})

	o = op("importDirectory", http.MethodPost, "/import", "Import objects from CSV or JSON, all or nothing", "import-export")
	o.Description = "Every row is checked first; if any is bad the answer is 422 with each bad row and its line in error.details, and nothing is created. " +
		"Passwords may be plaintext (password) or {ARGON2ID}, {BLF-CRYPT} or {SHA512-CRYPT} hashes (password_hash), a hash optionally with " +
		"its SCRAM-SHA-256 credential in Dovecot's {SCRAM-SHA-256}iterations,salt,StoredKey,ServerKey form (scram_sha256). The body may be up to 32 MiB."
	o.MaxBodyBytes = directory.MaxImportBytes + 1
	o.DefaultStatus = http.StatusOK
	o.Errors = append(o.Errors, http.StatusUnsupportedMediaType)
	huma.Register(a.humaAPI, o, func(ctx context.Context, in *importInput) (*importOutput, error) {
		format := directory.Format(in.Format)
		if format == "" {
			mt, _, _ := mime.ParseMediaType(requestOf(ctx).Header.Get("Content-Type"))
			switch mt {
			case "text/csv":
				format = directory.FormatCSV
			case "application/json":
				format = directory.FormatJSON
			default:
				return nil, newError(http.StatusUnsupportedMediaType, "", "send text/csv or application/json, or name the format with ?format=")
			}
		}
		rep, err := a.scope(ctx).Import(ctx, format, bytesReader(in.RawBody), directory.ImportOptions{DryRun: in.DryRun})
		if errors.Is(err, directory.ErrImportRejected) {
			e := newError(http.StatusUnprocessableEntity, "import_rejected", err.Error())
			e.Body.Details = rep
			return nil, e
		}
		if errors.Is(err, directory.ErrInvalidImport) || errors.Is(err, directory.ErrInvalidFormat) {
			return nil, newError(http.StatusUnprocessableEntity, "", err.Error())
		}
		if err != nil {
			return nil, a.errorFor(ctx, err)
		}
		return &importOutput{rep}, nil
	})
}
