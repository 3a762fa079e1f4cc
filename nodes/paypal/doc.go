// Package paypal connects Ferry to PayPal's REST APIs: a trigger for PayPal webhook events, verified through
// PayPal's own verify-webhook-signature API and normalised into payment.Event, and actions that create and
// capture Checkout orders and refund captures, each sent with PayPal-Request-Id so a retried step is applied
// once (I4).
//
// Pinned API versions: Orders v2 (/v2/checkout/orders), Payments v2 (/v2/payments/captures), Notifications
// webhooks v1 (/v1/notifications/verify-webhook-signature) and OAuth2 v1 (/v1/oauth2/token). A PayPal change of
// version is a new node version here, never a silent change of what a flow receives (D2).
package paypal
