// Package youzan connects Ferry to Youzan (有赞) shops through the Youzan Cloud open platform
// (open.youzanyun.com): a trigger for Youzan's message pushes that verifies Event-Sign and turns trade messages
// into the normalised shop order event every shop trigger outputs (D1, D16), a polling trigger for the trades
// changed since its cursor (D18), actions written as data on the connector runtime (list the trades changed in a
// window, get a trade, ship it, set the seller's memo), and the youzan.app credential of a self-built app
// (自用型应用) with its connection test.
//
// Every API call is POST https://open.youzanyun.com/api/{api}/{version}?access_token=… with a JSON body; the
// access token comes from POST /auth/token (authorize_type silent) with the app's client id and secret and the
// shop's id, and is kept per credential by the connector runtime's token source until five minutes before its
// expiry. Where the names, versions, fields and failure codes come from is said beside each of them and in
// testdata/README.md.
package youzan

// Provider is the provider name in the normalised shop event and the prefix of failure codes.
const Provider = "youzan"

// DefaultBaseURL is where the Youzan Cloud open platform serves the token endpoint and every API.
const DefaultBaseURL = "https://open.youzanyun.com"

// The APIs the connector calls and their versions, pinned per API as Youzan versions each API on its own (the
// path names both). From the API pages of doc.youzanyun.com (testdata/README.md): youzan.trades.sold.get 4.0.4
// is the current list (4.0.0 only for trades before 2020), youzan.trade.get 4.0.2 the current detail,
// youzan.logistics.online.confirm, youzan.trade.memo.update and youzan.logistics.express.get 3.0.0.
const (
	APITradesSold  = "youzan.trades.sold.get"          // trades by update time, paged
	VersionTrades  = "4.0.4"                           // of APITradesSold
	APITradeGet    = "youzan.trade.get"                // one trade in full
	VersionTrade   = "4.0.2"                           // of APITradeGet
	APIShip        = "youzan.logistics.online.confirm" // ship a trade
	VersionShip    = "3.0.0"                           // of APIShip
	APIMemo        = "youzan.trade.memo.update"        // the seller's memo
	VersionMemo    = "3.0.0"                           // of APIMemo
	APIExpresses   = "youzan.logistics.express.get"    // the carriers, for the ship node's choices
	VersionExpress = "3.0.0"                           // of APIExpresses
)

const (
	tokenPath       = "/auth/token"
	timeLayout      = "2006-01-02 15:04:05"
	defaultCurrency = "CNY"
)

// apiPath is where an API of a version is called, under the base URL.
func apiPath(api, version string) string { return "/api/" + api + "/" + version }
