// Package email sends e-mail over SMTP (node email.send, credential email.smtp) with implicit TLS or STARTTLS,
// through the process's egress guard: the one way out every HTTP request takes too.
//
// The rules it follows, and where they come from:
//   - reply codes: 4yz is a transient negative completion, worth trying again; 5yz a permanent one (RFC 5321
//     section 4.2.1);
//   - STARTTLS upgrades a plain connection before anything else is sent (RFC 3207); implicit TLS on port 465 for
//     submission (RFC 8314 section 3.3);
//   - Message-ID is "<" id-left "@" id-right ">" with dot-atom-text on each side (RFC 5322 section 3.6.4), so
//     the characters of an idempotency key outside it (the ':' of "run:node") are written =XX;
//   - non-ASCII header text (a Chinese subject or sender name) as encoded words (RFC 2047).
package email
