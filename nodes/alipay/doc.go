// Package alipay connects Ferry to the Alipay open platform (支付宝开放平台) with RSA2 (SHA256withRSA) signatures:
//
//   - alipay.trigger receives asynchronous notifications (异步通知), verifies their signature the way the official
//     SDKs do (every parameter but sign and sign_type, sorted, raw values, empty ones included), checks the app id
//     and the notification's age, answers "success" once the run is stored and "fail" otherwise, and turns each
//     notification into the normalised payment event (D1, D7);
//   - alipay.query, alipay.refund, alipay.close and alipay.precreate call alipay.trade.query, .refund, .close and
//     .precreate, signed with the app's private key, and check Alipay's signature on every answer; a refund's
//     out_request_no is the step's idempotency key, so a retried step refunds once (I4, D12);
//   - alipay.app is the credential type: the app id, the app private key and either Alipay's public key or, in
//     certificate mode, the app, Alipay and root certificates (serials sent as app_cert_sn and
//     alipay_root_cert_sn, Alipay's certificate checked against the root and against alipay_cert_sn); its
//     connection test asks for a trade that cannot exist and takes Alipay's signed "trade does not exist" as
//     proof the keys work.
//
// Money is read and written as exact decimal yuan, never as floats (I7). Times are Beijing time on the wire and
// UTC in the event.
package alipay
