// Package grouping turns a decoded Sentry error or message event into the
// grouping hash that decides which issue the event belongs to, plus the
// title, culprit and metadata shown for that issue.
//
// The algorithm follows Sentry's default grouping config newstyle:2023-01-11
// (src/sentry/grouping/strategies/newstyle.py, message.py,
// parameterization.py, fingerprinting/utils.py and eventtypes/error.py),
// reduced to the parts a Go, Node or Python backend needs:
//
//  1. Strategies are tried in order and the first one that contributes wins:
//     chained exceptions, then the crashed (else current, else only) thread's
//     stack trace, then the message, else the "fallback" (md5 of nothing).
//  2. Every exception of a chain contributes, root cause first: its type
//     (unless mechanism.synthetic), its stack trace frames, and its value
//     (normalised with [Normalize]) only when its stack trace does not
//     contribute.
//  3. Two variants are built over all frames: "app" (only in-app frames
//     contribute) and "system" (all frames). The app variant is used unless
//     none of the event's stack traces has a contributing in-app frame, in
//     which case the system variant is used (Sentry's
//     remove_non_stacktrace_variants).
//  4. A frame contributes its module (else the lower-cased basename of
//     filename or abs_path), its function (JavaScript family: the part after
//     the last '.', "?" and "<anonymous>" ignored) and, for javascript, node,
//     python, php and ruby, its whitespace-collapsed context line of at most
//     120 characters. Line and column numbers never contribute; a frame
//     identical to the previous one (recursion) is ignored.
//  5. A message event contributes logentry.message (the template) before
//     logentry.formatted before message, normalised with [Normalize].
//  6. An event fingerprint replaces all of this: ["{{ default }}"] keeps the
//     default hash, a fingerprint containing {{ default }} is "hybrid"
//     (default components plus the other entries), anything else is
//     "custom". Variables such as {{ type }}, {{ function }} or
//     {{ tags.name }} are resolved from the event; unresolved ones become
//     placeholders like "<no-type>".
//
// The hash is the md5 of the contributing values, each preceded by a one-byte
// kind tag and followed by the byte 0xFF, which never occurs in UTF-8 (values
// that are not valid UTF-8 are sanitised first). It is not byte-compatible
// with Sentry's hashes: store [ConfigVersion] beside every hash so a later
// change of this algorithm can add secondary hashes instead of splitting
// existing issues.
//
// Deliberate differences from Sentry: frames whose in_app is unset are
// system frames only when their path or module looks like a dependency or
// the standard library (node_modules, site-packages, vendor, GOROOT, ...)
// and app frames otherwise (Sentry treats unset as system); exception-group
// filtering (RFC 0079), stack trace enhancement rules, server-side
// fingerprint rules, Java/Clojure code generation markers other than
// $$Lambda$ and GeneratedMethodAccessor, and native function-name trimming
// are not implemented. [Normalize] matches Sentry's patterns by hand, the
// way a Go (RE2) regexp did: RE2 has no lookaround, and how it was emulated
// is described in parameterize.go.
//
// Group is a pure function: it keeps no state and is safe for concurrent use.
// A [Grouper] gives the same results in memory it keeps and reuses from one
// event to the next, for the ingest hot path.
package grouping
