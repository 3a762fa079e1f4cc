package wecom

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-hq/ferry/nodes"
)

// documentedCodes reads WeCom's global errcode table (testdata/errcodes_90313.tsv): errcode → 错误说明.
func documentedCodes(t *testing.T) map[int64]string {
	t.Helper()
	f, err := os.Open("testdata/errcodes_90313.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[int64]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		code, desc, _ := strings.Cut(line, "\t")
		n, err := strconv.ParseInt(code, 10, 64)
		if err != nil {
			t.Fatalf("bad line %q", line)
		}
		out[n] = desc
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestErrcodesAreWeComs: every errcode the connector classifies is in WeCom's own table, and the class it is
// given fits what the table says the code means.
func TestErrcodesAreWeComs(t *testing.T) {
	doc := documentedCodes(t)
	want := map[string]string{ // a word of the documented meaning each class must contain, per class
		CodeRateLimited: "超过", CodeTokenInvalid: "access_token", CodeRecipientsInvalid: "",
		CodeCredentialInvalid: "", CodeMessageInvalid: "",
	}
	check := func(class string, codes map[int64]bool) {
		for code := range codes {
			desc, ok := doc[code]
			if !ok {
				t.Errorf("%s: errcode %d is not in WeCom's table", class, code)
				continue
			}
			if w := want[class]; w != "" && !strings.Contains(desc, w) {
				t.Errorf("%s: errcode %d means %q", class, code, desc)
			}
			var ne *nodes.Error
			if err := classifyCode(code, errors.New("x")); !errors.As(err, &ne) || ne.Code != class {
				t.Errorf("errcode %d (%s) classified as %v, want %s", code, desc, err, class)
			}
		}
	}
	check(CodeRateLimited, rateCodes)
	check(CodeTokenInvalid, tokenCodes)
	check(CodeCredentialInvalid, credentialCodes)
	check(CodeRecipientsInvalid, recipientCodes)
	check(CodeMessageInvalid, messageCodes)
	for code, class := range map[int64]string{-1: CodeBusy, 93000: CodeWebhookInvalid} {
		if _, ok := doc[code]; !ok {
			t.Errorf("errcode %d is not in WeCom's table", code)
		}
		var ne *nodes.Error
		if err := classifyCode(code, errors.New("x")); !errors.As(err, &ne) || ne.Code != class {
			t.Errorf("errcode %d classified as %v, want %s", code, err, class)
		}
	}
	if !strings.Contains(doc[-1], "繁忙") || !strings.Contains(doc[93000], "机器人") {
		t.Errorf("-1 means %q, 93000 means %q", doc[-1], doc[93000])
	}
}
