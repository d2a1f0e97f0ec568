package redact

import "testing"

// ekoResponseSample is an eko-response as the gateway sends it (about 1 KB, masked Aadhaar only):
// the body Body sees most often in production.
const ekoResponseSample = `{"action":"eko-response","detail":{"client_ref_id":"AB12345678901234","response":{"response_status_id":0,"response_type_id":1331,"message":"Transaction successful","status":0,"data":{"tx_status":"0","transaction_date":"","reason":"","merchant_code":"","shop":"","sender_name":"amit","auth_code":"","balance":"339976.26","shop_address_line1":"","user_code":"20810200","merchantname":"Sneha","stan":"","aadhaar":"XXXX XXXX 9999","customer_balance":"","transaction_time":"","bank_ref_num":"230612077853","terminal_id":"","amount":"1000.0","commission":"6.0","tds":"0.3","tid":"12345678"}}}}`

func BenchmarkBody(b *testing.B) {
	in := []byte(ekoResponseSample)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		Body(in)
	}
}

// BenchmarkDocument is the same body through Document: Body plus one decode that finds nothing.
func BenchmarkDocument(b *testing.B) {
	in := []byte(ekoResponseSample)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		Document(in)
	}
}

// BenchmarkDocumentCut is the same body cut off, as an oversized body is: Body, a failed decode
// and the run rule.
func BenchmarkDocumentCut(b *testing.B) {
	in := []byte(ekoResponseSample[:len(ekoResponseSample)-40])
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		Document(in)
	}
}
