package envelope

import (
	"net/url"
	"strconv"
	"strings"
)

// MaxProtocolVersion is the highest sentry_version accepted, as in Relay
// ("we only handle <= v8"). SDKs send 7.
const MaxProtocolVersion = 8

// Auth holds the credentials of a Sentry request. Only Key identifies the
// project; Secret is deprecated and ignored by Relay.
type Auth struct {
	// Key is sentry_key, the DSN's public key (never empty after a
	// successful parse).
	Key string
	// Secret is sentry_secret, or "".
	Secret string
	// Version is sentry_version as sent ("7"), or "" when absent.
	Version string
	// Client is sentry_client ("sentry.go/0.50.0"), or "".
	Client string
}

// ParseAuthHeader parses the value of an X-Sentry-Auth header, or of an
// Authorization header using the Sentry scheme:
//
//	Sentry sentry_version=7, sentry_client=sentry.go/0.50.0, sentry_key=abc
//
// The "Sentry " prefix is matched case-insensitively, parameters may come in
// any order and are separated by commas with optional white space, the
// "sentry_" prefix of a parameter name is optional (as in Relay's
// Auth::parse), unknown parameters (sentry_timestamp, ...) are ignored and a
// repeated parameter takes its last value. It fails with ErrInvalidAuth
// without the prefix, without a key, or when sentry_version is not an integer
// in 1..MaxProtocolVersion.
func ParseAuthHeader(v string) (Auth, error) {
	v = strings.TrimSpace(v)
	const prefix = "sentry "
	if len(v) < len(prefix) || !strings.EqualFold(v[:len(prefix)], prefix) {
		return Auth{}, newError(ErrInvalidAuth, reasonInvalidAuth, "auth header does not start with \"Sentry \"")
	}
	var a Auth
	for param := range strings.SplitSeq(v[len(prefix):], ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(param), "=")
		a.set(strings.TrimSpace(k), strings.TrimSpace(val))
	}
	return a, a.check()
}

// ParseAuthQuery parses credentials given in a query string
// ("sentry_version=7&sentry_key=abc&sentry_client=..."), the form browser
// SDKs and @sentry/node use. Only sentry_-prefixed parameters count; the
// rules and errors are ParseAuthHeader's.
func ParseAuthQuery(rawQuery string) (Auth, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return Auth{}, newError(ErrInvalidAuth, reasonInvalidAuth, "bad query string: "+err.Error())
	}
	var a Auth
	for k, vs := range q {
		if strings.HasPrefix(k, "sentry_") && len(vs) > 0 {
			a.set(k, vs[len(vs)-1])
		}
	}
	return a, a.check()
}

func (a *Auth) set(k, v string) {
	switch strings.TrimPrefix(k, "sentry_") {
	case "key":
		a.Key = v
	case "secret":
		a.Secret = v
	case "version":
		a.Version = v
	case "client":
		a.Client = v
	}
}

func (a *Auth) check() error {
	if a.Key == "" {
		return newError(ErrInvalidAuth, reasonInvalidAuth, "missing sentry_key")
	}
	if a.Version != "" {
		n, err := strconv.Atoi(a.Version)
		if err != nil || n < 1 || n > MaxProtocolVersion {
			return newError(ErrInvalidAuth, reasonInvalidAuth, "unsupported sentry_version "+strconv.Quote(a.Version))
		}
	}
	return nil
}

// DSN is a parsed Sentry DSN, {scheme}://{key}[:{secret}]@{host}{path}/{project_id}
// (develop-docs sdk/foundations/transport/authentication).
type DSN struct {
	// Scheme is "http" or "https".
	Scheme string
	// Key is the public key; Secret the deprecated secret key, or "".
	Key, Secret string
	// Host is the host with its port, if any ("127.0.0.1:9777").
	Host string
	// Path is the path prefix before the project id, without a trailing
	// slash ("/sentry"), or "" for none.
	Path string
	// ProjectID is the last path segment, a string of digits.
	ProjectID string
}

// ParseDSN parses a DSN such as "http://abc123@127.0.0.1:9777/42". The
// scheme must be http or https, the user part must hold a non-empty key, the
// host must be present and the last path segment must be a project id of
// digits (the envelope endpoint only routes /api/{digits}/). A trailing slash,
// a query and a fragment are ignored. Errors wrap ErrInvalidDSN.
func ParseDSN(s string) (DSN, error) {
	u, err := url.Parse(s)
	if err != nil {
		return DSN{}, newError(ErrInvalidDSN, reasonInvalidDSN, err.Error())
	}
	d := DSN{Scheme: strings.ToLower(u.Scheme), Host: u.Host}
	if d.Scheme != "http" && d.Scheme != "https" {
		return DSN{}, newError(ErrInvalidDSN, reasonInvalidDSN, "scheme must be http or https: "+strconv.Quote(u.Scheme))
	}
	if u.User != nil {
		d.Key = u.User.Username()
		d.Secret, _ = u.User.Password()
	}
	if d.Key == "" {
		return DSN{}, newError(ErrInvalidDSN, reasonInvalidDSN, "missing public key")
	}
	if d.Host == "" || u.Hostname() == "" {
		return DSN{}, newError(ErrInvalidDSN, reasonInvalidDSN, "missing host")
	}
	p := strings.TrimSuffix(u.Path, "/")
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return DSN{}, newError(ErrInvalidDSN, reasonInvalidDSN, "missing project id")
	}
	d.Path, d.ProjectID = p[:i], p[i+1:]
	if d.ProjectID == "" || strings.TrimLeft(d.ProjectID, "0123456789") != "" {
		return DSN{}, newError(ErrInvalidDSN, reasonInvalidDSN, "project id must be digits: "+strconv.Quote(d.ProjectID))
	}
	return d, nil
}

// String returns the DSN in its canonical form.
func (d DSN) String() string {
	u := url.URL{Scheme: d.Scheme, User: url.User(d.Key), Host: d.Host, Path: d.Path + "/" + d.ProjectID}
	if d.Secret != "" {
		u.User = url.UserPassword(d.Key, d.Secret)
	}
	return u.String()
}
