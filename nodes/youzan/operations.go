package youzan

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/ferry-hq/ferry/nodes"
	"github.com/ferry-hq/ferry/nodes/connector"
)

// tidPattern is a Youzan trade number: E and 23 digits for a trade, C… for a gift's sub-trade.
var tidPattern = regexp.MustCompile(`^[EC][0-9A-Za-z]{10,40}$`)

// now is the clock of the "now" time parameters; tests fix it.
var now = time.Now

func text(name, label, desc, key string) connector.Param {
	return connector.Param{Field: nodes.Field{Name: name, Label: label, Type: nodes.TypeString, Expression: true, Description: desc},
		In: connector.InBody, Key: key}
}

func tidParam() connector.Param {
	p := text("tid", "Trade number", "The trade's number (E2026…), e.g. {{ trigger.body.orderId }} from a Youzan trigger.", "/tid")
	p.Required = true
	p.Transform = func(v any) (any, error) {
		s := strings.TrimSpace(fmt.Sprint(v))
		if !tidPattern.MatchString(s) {
			return nil, fmt.Errorf("%q is not a Youzan trade number (E followed by digits)", s)
		}
		return s, nil
	}
	p.Examples = []nodes.Example{{Name: "From the Youzan trigger", Value: "{{ trigger.body.orderId }}"}}
	return p
}

// youzanTime turns a time parameter into Youzan's yyyy-MM-dd HH:mm:ss in Asia/Shanghai: RFC 3339 (any zone),
// a date or a date and time as Youzan writes them (taken as Shanghai time), or "now".
func youzanTime(v any) (any, error) {
	s := strings.TrimSpace(fmt.Sprint(v))
	if strings.EqualFold(s, "now") {
		return FormatTime(now()), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return FormatTime(t), nil
	}
	if t, err := ParseTime(s); err == nil {
		return FormatTime(t), nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, shanghai); err == nil {
		return FormatTime(t), nil
	}
	return nil, errors.New("the time must be RFC 3339 (2026-11-20T10:00:00+08:00), a date, yyyy-MM-dd HH:mm:ss (Shanghai time) or now")
}

// zeroOrOne sends a yes/no choice as Youzan's 0 or 1.
func zeroOrOne(v any) (any, error) {
	if b, ok := v.(bool); ok && b {
		return int64(1), nil
	}
	return int64(0), nil
}

func init() {
	since := text("since", "Changed since", "Trades updated at or after this time: RFC 3339, a date, or yyyy-MM-dd HH:mm:ss in Shanghai time.", "/start_update")
	since.Required, since.Transform = true, youzanTime
	since.Examples = []nodes.Example{{Name: "A fixed date", Value: "2026-11-01"}, {Name: "The last sync (a flow variable)", Value: "{{ vars.lastSync }}"}}
	until := text("until", "Changed until", "Trades updated at or before this time, in the same forms, or now. Youzan takes windows of at most three months.", "/end_update")
	until.Required, until.Transform, until.Default = true, youzanTime, "now"
	status := connector.Param{Field: nodes.Field{Name: "status", Label: "Status", Type: nodes.TypeSelect, Expression: true,
		Description: "Only trades in this status; none chosen lists every status (Youzan takes one at a time).",
		Options: []nodes.Option{{Value: "WAIT_BUYER_PAY", Label: "Waiting for payment"},
			{Value: "WAIT_SELLER_SEND_GOODS", Label: "Paid, to be shipped"}, {Value: "WAIT_BUYER_CONFIRM_GOODS", Label: "Shipped"},
			{Value: "TRADE_SUCCESS", Label: "Completed"}, {Value: "TRADE_CLOSED", Label: "Closed"}, {Value: "TRADE_REFUND", Label: "Being refunded"}}},
		In: connector.InBody, Key: "/status"}
	memo := text("memo", "Memo", "The seller's memo (卖家备注) the trade gets; it replaces the one it has.", "/memo")
	memo.Required = true
	flag := connector.Param{Field: nodes.Field{Name: "flag", Label: "Star", Type: nodes.TypeSelect, Expression: true,
		Description: "Marks the trade with one to five stars in the admin; none chosen leaves it.",
		Options: []nodes.Option{{Value: "1", Label: "1"}, {Value: "2", Label: "2"},
			{Value: "3", Label: "3"}, {Value: "4", Label: "4"}, {Value: "5", Label: "5"}}},
		In: connector.InBody, Key: "/flag"}
	express := text("expressId", "Carrier", "The carrier's id at Youzan (out_stype), chosen from the shop's list of carriers.", "/out_stype")
	express.Options = &connector.OptionSource{Method: http.MethodPost, Path: apiPath(APIExpresses, VersionExpress), Body: map[string]any{},
		Items: "/data/allExpress", Value: "/id", Label: "/name"}
	waybill := text("waybill", "Waybill number", "The carrier's tracking number (out_sid): letters, digits and hyphens.", "/out_sid")
	noExpress := connector.Param{Field: nodes.Field{Name: "noExpress", Label: "Ship without a carrier", Type: nodes.TypeBoolean, Default: false,
		Description: "The goods need no carrier (delivered by hand, nothing physical): no carrier or waybill is sent."},
		In: connector.InBody, Key: "/is_no_express", Transform: zeroOrOne}
	oids := text("oids", "Lines", "To ship part of a trade, the order lines (oid) to ship, separated by commas; empty ships the whole trade.", "/oids")

	provider.MustRegister(
		connector.Operation{Type: "youzan.trades.changed", Name: "Youzan: trades changed in a window", Category: nodes.CategoryShops,
			Description: "Lists the shop's trades updated in a time window.",
			Method:      http.MethodPost, Path: apiPath(APITradesSold, VersionTrades), Params: []connector.Param{since, until, status},
			OutputLabel: "Trades",
			Pagination: &connector.Pagination{Style: connector.PageNumber, Items: "/data/full_order_info_list", PageKey: "page_no",
				SizeKey: "page_size", CursorIn: connector.InBody, Size: 20, MaxSize: 100},
			Docs: "`" + APITradesSold + "` " + VersionTrades + " with `start_update` and `end_update` (Shanghai time): each item is " +
				"`{\"full_order_info\": {order_info, buyer_info, address_info, pay_info, orders, remark_info}}`, amounts in yuan as " +
				"decimal text. Youzan lists at most 100 pages of at most 100 trades, and windows of at most three months: " +
				"narrow the window when a shop changes more than that. A trade that changes while the pages are read can " +
				"move between pages (Youzan says so): use the polling trigger, which reads every change once."},
		connector.Operation{Type: "youzan.trade.get", Name: "Youzan: get trade", Category: nodes.CategoryShops,
			Description: "Reads one trade: status, buyer, goods, amounts, refunds and parcels.",
			Method:      http.MethodPost, Path: apiPath(APITradeGet, VersionTrade), Params: []connector.Param{tidParam()},
			Result: "/data", RequireResult: true, OutputLabel: "Trade",
			Docs: "`" + APITradeGet + "` " + VersionTrade + ": outputs `full_order_info` (order_info with `status` and " +
				"`refund_state`, buyer_info, address_info, pay_info, orders), `order_promotion`, `refund_order` and " +
				"`delivery_order`. Youzan's lists and details lag its messages by some seconds (it advises reading a " +
				"trade 30 s after its message). A trade of another shop, or none, fails with `" + CodeNotFound + "`."},
		connector.Operation{Type: "youzan.trade.ship", Name: "Youzan: ship trade", Category: nodes.CategoryShops, SideEffect: true,
			Description: "Confirms a paid trade as shipped, with its carrier and waybill.",
			Method:      http.MethodPost, Path: apiPath(APIShip, VersionShip),
			Params: []connector.Param{tidParam(), express, waybill, noExpress, oids},
			Result: "/data", OutputLabel: "Result",
			Docs: "`" + APIShip + "` " + VersionShip + ": the trade goes from WAIT_SELLER_SEND_GOODS to WAIT_BUYER_CONFIRM_GOODS. " +
				"Youzan refuses to ship what was shipped (102570007) or a trade with nothing left to ship (102570020): a " +
				"retried step fails with `" + CodeAPIError + "` and that answer rather than shipping twice. Not for trades " +
				"with virtual goods, distribution trades or same-city delivery, which Youzan ships otherwise."},
		connector.Operation{Type: "youzan.trade.memo", Name: "Youzan: set seller memo", Category: nodes.CategoryShops, SideEffect: true,
			Description: "Sets a trade's seller memo and star mark.",
			Method:      http.MethodPost, Path: apiPath(APIMemo, VersionMemo), Params: []connector.Param{tidParam(), memo, flag},
			OutputLabel: "Result",
			Docs: "`" + APIMemo + "` " + VersionMemo + ": replaces the memo, so a retried step writes the same one. Youzan " +
				"sends trade_TradeMemoModified for it; the trade's update time does not change."},
	)
}
