// Package wechatpay connects Ferry to WeChat Pay (微信支付) through API v3: a trigger for its encrypted payment and
// refund notifications, actions that query, refund and close orders and create Native (QR code) payments, and
// the merchant credential they all use.
//
// Every call and every notification is signed with SHA256withRSA: requests with the merchant's private key
// (Authorization: WECHATPAY2-SHA256-RSA2048 …), answers and notifications by WeChat Pay with its platform
// certificate or WeChat Pay public key, chosen by the Wechatpay-Serial header. Notification resources are
// encrypted with AEAD_AES_256_GCM under the merchant's APIv3 key. Amounts are integer fen (minor units).
package wechatpay
