package youzan

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/payment"
	"github.com/ferry-hq/ferry/nodes/shop"
)

// Refund states of order_info.refund_state (doc.youzanyun.com youzan.trade.get: 0 none, 1 partial refund in
// progress, 2 partially refunded, 11 full refund in progress, 12 fully refunded).
const (
	refundNone       = 0
	refundPartialNow = 1
	refundPartial    = 2
	refundFullNow    = 11
	refundFull       = 12
)

// Status maps a trade's main status (order_info.status) and refund state to the normalised shop status. A full
// refund wins, then the trade's own progress: WAIT_BUYER_PAY is pending; TRADE_PAID (a passing state) and
// WAIT_SELLER_SEND_GOODS paid; WAIT_CONFIRM (paid, waiting for a group to form or the shop to accept)
// processing; WAIT_BUYER_CONFIRM_GOODS (shipped) and TRADE_SUCCESS fulfilled; TRADE_CLOSED cancelled.
func Status(status string, refundState int64) string {
	if refundState == refundFull {
		return shop.StatusRefunded
	}
	switch strings.ToUpper(strings.TrimSpace(status)) {
	case "WAIT_BUYER_PAY":
		return shop.StatusPending
	case "TRADE_PAID", "WAIT_SELLER_SEND_GOODS":
		return shop.StatusPaid
	case "WAIT_CONFIRM":
		return shop.StatusProcessing
	case "WAIT_BUYER_CONFIRM_GOODS", "TRADE_SUCCESS":
		return shop.StatusFulfilled
	case "TRADE_CLOSED", "TRADE_CLOSE":
		return shop.StatusCancelled
	}
	return shop.StatusOther
}

// providerStatus is the trade's status as the event shows it, with a refund in progress or done named.
func providerStatus(status string, refundState int64) string {
	switch refundState {
	case refundPartialNow, refundFullNow:
		return status + "/REFUNDING"
	case refundPartial:
		return status + "/PARTIALLY_REFUNDED"
	case refundFull:
		return status + "/REFUNDED"
	}
	return status
}

// messageTypes maps Youzan's trade message types (Event-Type) to event types. Messages that only touch a part
// of a trade (an address, a memo, part of the goods shipped) are updates.
var messageTypes = map[string]string{
	"trade_TradeCreate": shop.EventCreated, "trade_TradePaid": shop.EventPaid, "trade_TradeBuyerPay": shop.EventPaid,
	"trade_TradeSellerShip": shop.EventFulfilled, "trade_TradeSuccess": shop.EventFulfilled, "trade_TradeClose": shop.EventCancelled,
	"trade_refund_RefundSuccess": shop.EventRefunded, "trade_refund_SysRefund": shop.EventRefunded,
	"trade_refund_RefundSellerAgree": shop.EventRefunded, "youzan_trade_RefundSuccess": shop.EventRefunded,
}

// ParseTime reads a Youzan time ("2026-11-20 18:02:03", Asia/Shanghai) as an instant.
func ParseTime(s string) (time.Time, error) {
	t, err := time.ParseInLocation(timeLayout, strings.TrimSpace(s), shanghai)
	if err != nil {
		return time.Time{}, fmt.Errorf("youzan: %q is not a time as Youzan writes them (yyyy-MM-dd HH:mm:ss)", s)
	}
	return t, nil
}

// FormatTime writes an instant as Youzan reads times: yyyy-MM-dd HH:mm:ss in Asia/Shanghai.
func FormatTime(t time.Time) string { return t.In(shanghai).Format(timeLayout) }

// rfc3339 writes a Youzan time in UTC, or leaves what does not parse.
func rfc3339(s string) string {
	if t, err := ParseTime(s); err == nil {
		return t.UTC().Format(time.RFC3339)
	}
	return s
}

// TradeEvent normalises a trade as youzan.trade.get, youzan.trades.sold.get and the trade messages give it (the
// full_order_info object: order_info, buyer_info, address_info, pay_info, orders). typ is the event type and
// eventID the dedup key, both chosen by the caller (a message's type and id, a polled change's update time).
// Amounts are yuan as decimal text, read exactly: total is pay_info.payment (what the buyer pays), shipping
// pay_info.post_fee, discount what the goods cost before it less what was paid for them
// (total_fee + post_fee − payment, never below zero: a price raised by the shop is not a negative discount).
func TradeEvent(typ, topic, eventID string, info map[string]any) (shop.Event, error) {
	order, _ := info["order_info"].(map[string]any)
	tid := str(order["tid"])
	if tid == "" {
		return shop.Event{}, errors.New("youzan: the trade has no order_info.tid")
	}
	refund, _ := integer(order["refund_state"])
	status := str(order["status"])
	e := shop.Event{Provider: Provider, Type: typ, Topic: topic, EventID: eventID, OrderID: tid, OrderNumber: tid,
		Status: Status(status, refund), ProviderStatus: providerStatus(status, refund), Time: rfc3339(str(order["update_time"])),
		Raw: info, Items: []shop.Item{}}
	pay, _ := info["pay_info"].(map[string]any)
	var err error
	if e.Total, err = yuan(pay["payment"]); err != nil {
		return shop.Event{}, fmt.Errorf("youzan: pay_info.payment: %w", err)
	}
	if e.Shipping, err = yuan(pay["post_fee"]); err != nil {
		return shop.Event{}, fmt.Errorf("youzan: pay_info.post_fee: %w", err)
	}
	goods, err := yuan(pay["total_fee"])
	if err != nil {
		return shop.Event{}, fmt.Errorf("youzan: pay_info.total_fee: %w", err)
	}
	e.Discount = payment.FromMinor(max(goods.Minor+e.Shipping.Minor-e.Total.Minor, 0), defaultCurrency)
	buyer, _ := info["buyer_info"].(map[string]any)
	address, _ := info["address_info"].(map[string]any)
	e.Customer = shop.Customer{ID: firstNonEmpty(str(buyer["yz_open_id"]), str(buyer["buyer_id"])), Phone: str(buyer["buyer_phone"]),
		Name: firstNonEmpty(str(address["receiver_name"]), str(buyer["fans_nickname"]))}
	if e.Customer.Phone == "" {
		e.Customer.Phone = str(address["receiver_tel"])
	}
	lines, _ := info["orders"].([]any)
	for i, raw := range lines {
		li, _ := raw.(map[string]any)
		price, err := yuan(li["price"])
		if err != nil {
			return shop.Event{}, fmt.Errorf("youzan: orders[%d].price: %w", i, err)
		}
		qty, _ := integer(li["num"])
		sku := firstNonEmpty(str(li["outer_sku_id"]), str(li["outer_item_id"]))
		if sku == "" && str(li["sku_id"]) != "0" {
			sku = str(li["sku_id"])
		}
		e.Items = append(e.Items, shop.Item{SKU: sku, Name: str(li["title"]), Quantity: qty, UnitPrice: price})
	}
	return e, nil
}

// PolledEvent normalises a trade the polling trigger read: the event id is the tid with its update time, so a
// trade seen twice unchanged makes one run and every change its own. The type says what the change was when
// the trade's own times tell (created, paid, shipped or completed, closed at the update time), else updated.
func PolledEvent(info map[string]any) (shop.Event, error) {
	order, _ := info["order_info"].(map[string]any)
	updated := str(order["update_time"])
	if _, err := ParseTime(updated); err != nil {
		return shop.Event{}, fmt.Errorf("youzan: order_info.update_time: %w", err)
	}
	typ := shop.EventUpdated
	refund, _ := integer(order["refund_state"])
	switch status := str(order["status"]); {
	case str(order["created"]) == updated:
		typ = shop.EventCreated
	case refund == refundFull:
		typ = shop.EventRefunded
	case status == "TRADE_CLOSED":
		typ = shop.EventCancelled
	case (status == "WAIT_SELLER_SEND_GOODS" || status == "WAIT_CONFIRM" || status == "TRADE_PAID") && str(order["pay_time"]) == updated:
		typ = shop.EventPaid
	case status == "WAIT_BUYER_CONFIRM_GOODS" && str(order["consign_time"]) == updated,
		status == "TRADE_SUCCESS" && str(order["success_time"]) == updated:
		typ = shop.EventFulfilled
	}
	return TradeEvent(typ, "", str(order["tid"])+"@"+rfc3339(updated), info)
}

// DecodeMessage reads a push's msg: UrlEncode(UTF-8) JSON text for the trade_* messages, an object for the newer
// refund messages (doc.youzanyun.com 消息推送). Youzan does not say whether it writes a space as + (Java's
// URLEncoder) or %20; reading + as a space is right for both, since either encoder writes a + of the text as
// %2B. Text that does not unescape that way is read with + kept.
func DecodeMessage(v any) (map[string]any, error) {
	switch m := v.(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		return m, nil
	case string:
		for _, unescape := range []func(string) (string, error){url.QueryUnescape, url.PathUnescape} {
			text, err := unescape(m)
			if err != nil {
				continue
			}
			if v, err := nodes.DecodeJSON([]byte(text)); err == nil {
				if out, ok := v.(map[string]any); ok {
					return out, nil
				}
			}
		}
		return nil, errors.New("youzan: the message's msg is not URL-encoded JSON")
	}
	return nil, fmt.Errorf("youzan: the message's msg is %T, not text or an object", v)
}

// MessageEvent turns a verified trade message into the normalised event. Messages that carry the whole trade
// (trade_TradeCreate, trade_TradePaid, trade_TradeBuyerPay) give every field; the others carry a few (tid,
// close_type, update_time…), so the event has the trade's id, status and time and no items or amounts: read the
// trade with youzan.trade.get for the rest.
func MessageEvent(msgType, eventID string, body, msg map[string]any) (shop.Event, error) {
	typ := messageTypes[msgType]
	if typ == "" {
		typ = shop.EventUpdated
	}
	info, _ := msg["full_order_info"].(map[string]any)
	if info != nil {
		if typ == shop.EventCancelled && refundOf(info) == refundFull {
			typ = shop.EventRefunded
		}
		e, err := TradeEvent(typ, msgType, eventID, info)
		if err != nil {
			return shop.Event{}, err
		}
		e.Raw = map[string]any{"message": body, "msg": msg}
		return e, nil
	}
	tid := firstNonEmpty(str(msg["tid"]), str(body["id"]))
	if tid == "" {
		return shop.Event{}, fmt.Errorf("youzan: the %s message names no trade (no msg.tid or id)", msgType)
	}
	status := str(body["status"])
	zero := payment.FromMinor(0, defaultCurrency)
	e := shop.Event{Provider: Provider, Type: typ, Topic: msgType, EventID: eventID, OrderID: tid, OrderNumber: tid,
		Status: Status(status, 0), ProviderStatus: status, Time: rfc3339(str(msg["update_time"])),
		Items: []shop.Item{}, Total: zero, Shipping: zero, Discount: zero, Raw: map[string]any{"message": body, "msg": msg}}
	if msgType == "trade_TradeClose" && str(msg["close_type"]) == "2" {
		// close_type 2 is 标记退款: the trade was closed by a full refund.
		e.Type = shop.EventRefunded
	}
	if e.Type == shop.EventRefunded && status == "" {
		e.Status = shop.StatusRefunded
	}
	if e.Status == shop.StatusOther && status == "" {
		e.ProviderStatus = msgType
	}
	return e, nil
}

func refundOf(info map[string]any) int64 {
	order, _ := info["order_info"].(map[string]any)
	n, _ := integer(order["refund_state"])
	return n
}

// yuan reads an amount Youzan writes in yuan ("9.82", or a number in older answers) exactly, as CNY.
func yuan(v any) (shop.Amount, error) {
	text := ""
	switch x := v.(type) {
	case nil:
	case string:
		text = x
	case json.Number:
		text = x.String()
	case int64:
		text = strconv.FormatInt(x, 10)
	case float64:
		// A number with decimals in an older answer, decoded as a float: the shortest text that reads back as the
		// same float is the decimal Youzan wrote (amounts have at most two decimals; more fail below).
		text = strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return shop.Amount{}, fmt.Errorf("%v is not an amount", v)
	}
	return shop.FromDecimal(text, defaultCurrency)
}

// str writes a JSON scalar as text: ids arrive as numbers or text.
func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

func integer(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		return int64(x), x == float64(int64(x))
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	}
	return 0, false
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
