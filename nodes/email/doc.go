// Package email sends e-mail over SMTP (node email.send, credential email.smtp) with implicit TLS or STARTTLS,
// through the process's egress guard: the one way out every HTTP request takes too.
package email
