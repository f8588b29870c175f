// mini-switch: a small POS switch for the UnionPay POS dialect of ISO 8583, written apart from posstorm (Go,
// standard library only, no code shared with posstorm's TypeScript) so posstorm's "your switch" path is
// tested against a switch it did not write. It signs terminals in with their own master keys (a terminal
// list as `posstorm terminals export` writes it: tid, mid, tmk, kcv), answers 0800 with fresh working keys
// under the terminal's TMK, checks the MAC of every 0200 and approves it, answers 0400 and 0820.
//
//	mini-switch -listen 127.0.0.1:5000 -keys terminals.csv [-metrics 127.0.0.1:9100]
//
// Frames: 2-byte binary length, TPDU (5), header (6), MTI (BCD), primary bitmap, fields (PROTOCOL.md).
package main

import (
	"bufio"
	"crypto/cipher"
	"crypto/des"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ---- field formats -------------------------------------------------------------------------------------

type kind int

const (
	fixedBCD  kind = iota // n, packed BCD right-aligned; size in digits
	fixedLeft             // n, packed BCD left-aligned (F22)
	fixedText             // an/ans, ASCII; size in bytes
	fixedBin              // b; size in bytes
	llBCD                 // 1-byte BCD length in digits, BCD left-aligned
	lllBCD                // 2-byte BCD length in digits, BCD left-aligned
	llText                // 1-byte BCD length in bytes
	lllBytes              // 2-byte BCD length in bytes
)

type format struct {
	kind kind
	size int
}

var formats = map[int]format{
	2: {llBCD, 0}, 3: {fixedBCD, 6}, 4: {fixedBCD, 12}, 11: {fixedBCD, 6}, 12: {fixedBCD, 6},
	13: {fixedBCD, 4}, 14: {fixedBCD, 4}, 15: {fixedBCD, 4}, 22: {fixedLeft, 3}, 23: {fixedBCD, 3},
	25: {fixedBCD, 2}, 26: {fixedBCD, 2}, 32: {llBCD, 0}, 35: {llBCD, 0}, 36: {lllBCD, 0},
	37: {fixedText, 12}, 38: {fixedText, 6}, 39: {fixedText, 2}, 41: {fixedText, 8}, 42: {fixedText, 15},
	44: {llText, 0}, 48: {lllBCD, 0}, 49: {fixedText, 3}, 52: {fixedBin, 8}, 53: {fixedBCD, 16},
	55: {lllBytes, 0}, 59: {lllBytes, 0}, 60: {lllBCD, 0}, 61: {lllBCD, 0}, 62: {lllBytes, 0},
	63: {lllBytes, 0}, 64: {fixedBin, 8},
}

// A message: MTI and fields, digits as strings, text as strings, binary as raw bytes in a string.
type message struct {
	mti    string
	fields map[int]string
}

func bcdDigits(b []byte, digits int, left bool) string {
	s := strings.ToUpper(hex.EncodeToString(b))
	if digits%2 == 1 {
		if left {
			return s[:digits]
		}
		return s[1:]
	}
	return s
}

func toBCD(digits string, left bool) []byte {
	if len(digits)%2 == 1 {
		if left {
			digits += "0"
		} else {
			digits = "0" + digits
		}
	}
	out, err := hex.DecodeString(digits)
	if err != nil {
		panic(fmt.Sprintf("not BCD digits: %q", digits))
	}
	return out
}

func bcdLength(b []byte) int {
	n := 0
	for _, c := range b {
		n = n*100 + int(c>>4)*10 + int(c&0x0f)
	}
	return n
}

func lengthBCD(n, bytes int) []byte {
	return toBCD(fmt.Sprintf("%0*d", bytes*2, n), false)
}

func decodeMessage(b []byte) (message, error) {
	m := message{fields: map[int]string{}}
	if len(b) < 10 {
		return m, errors.New("message shorter than MTI and bitmap")
	}
	m.mti = bcdDigits(b[:2], 4, false)
	bitmap := b[2:10]
	if bitmap[0]&0x80 != 0 {
		return m, errors.New("secondary bitmap not supported")
	}
	at := 10
	take := func(n int) ([]byte, error) {
		if at+n > len(b) {
			return nil, fmt.Errorf("truncated at byte %d", at)
		}
		v := b[at : at+n]
		at += n
		return v, nil
	}
	for f := 2; f <= 64; f++ {
		if bitmap[(f-1)/8]&(0x80>>uint((f-1)%8)) == 0 {
			continue
		}
		ft, ok := formats[f]
		if !ok {
			return m, fmt.Errorf("field %d: not in this switch's dialect", f)
		}
		var err error
		var raw []byte
		switch ft.kind {
		case fixedBCD, fixedLeft:
			if raw, err = take((ft.size + 1) / 2); err == nil {
				m.fields[f] = bcdDigits(raw, ft.size, ft.kind == fixedLeft)
			}
		case fixedText, fixedBin:
			if raw, err = take(ft.size); err == nil {
				m.fields[f] = string(raw)
			}
		case llBCD, lllBCD:
			lenBytes := 1
			if ft.kind == lllBCD {
				lenBytes = 2
			}
			var l []byte
			if l, err = take(lenBytes); err == nil {
				digits := bcdLength(l)
				if raw, err = take((digits + 1) / 2); err == nil {
					m.fields[f] = bcdDigits(raw, digits, true)
				}
			}
		case llText, lllBytes:
			lenBytes := 1
			if ft.kind == lllBytes {
				lenBytes = 2
			}
			var l []byte
			if l, err = take(lenBytes); err == nil {
				if raw, err = take(bcdLength(l)); err == nil {
					m.fields[f] = string(raw)
				}
			}
		}
		if err != nil {
			return m, fmt.Errorf("field %d: %v", f, err)
		}
	}
	if at != len(b) {
		return m, fmt.Errorf("%d bytes after the last field", len(b)-at)
	}
	return m, nil
}

// encodeMessage encodes MTI, bitmap and fields; with a MAC key it appends F64 over MTI … the byte before F64.
func encodeMessage(m message, mak []byte) []byte {
	bitmap := make([]byte, 8)
	if mak != nil {
		m.fields[64] = strings.Repeat("\x00", 8)
	}
	for f := range m.fields {
		bitmap[(f-1)/8] |= 0x80 >> uint((f-1)%8)
	}
	out := append(toBCD(m.mti, false), bitmap...)
	for f := 2; f <= 64; f++ {
		v, ok := m.fields[f]
		if !ok || f == 64 {
			continue
		}
		ft := formats[f]
		switch ft.kind {
		case fixedBCD:
			out = append(out, toBCD(fmt.Sprintf("%0*s", ft.size, v), false)...)
		case fixedLeft:
			out = append(out, toBCD(v, true)...)
		case fixedText, fixedBin:
			out = append(out, []byte(v)...)
		case llBCD:
			out = append(append(out, lengthBCD(len(v), 1)...), toBCD(v, true)...)
		case lllBCD:
			out = append(append(out, lengthBCD(len(v), 2)...), toBCD(v, true)...)
		case llText:
			out = append(append(out, lengthBCD(len(v), 1)...), []byte(v)...)
		case lllBytes:
			out = append(append(out, lengthBCD(len(v), 2)...), []byte(v)...)
		}
	}
	if mak != nil {
		out = append(out, cupEcbMac(mak, out)...)
	}
	return out
}

// ---- keys and MACs -------------------------------------------------------------------------------------

func blockCipher(key []byte) cipher.Block {
	var c cipher.Block
	var err error
	switch len(key) {
	case 8:
		c, err = des.NewCipher(key)
	case 16:
		c, err = des.NewTripleDESCipher(append(append([]byte{}, key...), key[:8]...))
	case 24:
		c, err = des.NewTripleDESCipher(key)
	default:
		err = fmt.Errorf("a DES key is 8, 16 or 24 bytes, not %d", len(key))
	}
	if err != nil {
		panic(err)
	}
	return c
}

func ecb(key, data []byte) []byte {
	c := blockCipher(key)
	out := make([]byte, len(data))
	for i := 0; i < len(data); i += 8 {
		c.Encrypt(out[i:i+8], data[i:i+8])
	}
	return out
}

func kcv(key []byte) []byte { return ecb(key, make([]byte, 8))[:4] }

func randomKey(n int) []byte {
	k := make([]byte, n)
	if _, err := rand.Read(k); err != nil {
		panic(err)
	}
	for i, b := range k { // odd parity
		b &= 0xfe
		ones := 0
		for v := b; v != 0; v >>= 1 {
			ones += int(v & 1)
		}
		if ones%2 == 0 {
			b |= 1
		}
		k[i] = b
	}
	return k
}

// cupEcbMac: XOR the data in 8-byte blocks, expand to 16 uppercase hex characters, encrypt the first 8 with
// the MAK, XOR with the last 8, encrypt again, expand to uppercase hex, keep the first 8 characters.
func cupEcbMac(mak, data []byte) []byte {
	x := make([]byte, 8)
	for i := 0; i < len(data); i++ {
		x[i%8] ^= data[i]
	}
	h := []byte(strings.ToUpper(hex.EncodeToString(x)))
	e := ecb(mak, h[:8])
	for i := range e {
		e[i] ^= h[8+i]
	}
	return []byte(strings.ToUpper(hex.EncodeToString(ecb(mak, e)))[:8])
}

// ---- the switch ----------------------------------------------------------------------------------------

type session struct{ mak []byte }

type server struct {
	tmks     map[string][]byte
	mu       sync.Mutex
	sessions map[string]*session
	rrn      atomic.Int64
	requests atomic.Int64
	approved atomic.Int64
	inFlight atomic.Int64
}

func readKeys(file string) (map[string][]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	keys := map[string][]byte{}
	var cols map[string]int
	line := 0
	for sc.Scan() {
		line++
		cells := strings.Split(strings.TrimSpace(sc.Text()), ",")
		if cols == nil {
			cols = map[string]int{}
			for i, c := range cells {
				cols[strings.ToLower(strings.TrimSpace(c))] = i
			}
			if _, ok := cols["tmk"]; !ok {
				return nil, errors.New("the header has no tmk column (clear keys only)")
			}
			continue
		}
		if len(cells) <= cols["tmk"] || len(cells) <= cols["tid"] {
			continue
		}
		tmk, err := hex.DecodeString(cells[cols["tmk"]])
		if err != nil {
			return nil, fmt.Errorf("line %d: tmk is not hex", line)
		}
		if i, ok := cols["kcv"]; ok && !strings.HasPrefix(strings.ToUpper(hex.EncodeToString(kcv(tmk))), strings.ToUpper(cells[i])) {
			return nil, fmt.Errorf("line %d (%s): kcv does not match", line, cells[cols["tid"]])
		}
		keys[cells[cols["tid"]]] = tmk
	}
	return keys, sc.Err()
}

func now() (string, string) {
	t := time.Now()
	return t.Format("150405"), t.Format("0102")
}

// handle answers one request message (nil: no answer).
func (s *server) handle(req message) (reply message, mak []byte, err error) {
	tid := req.fields[41]
	hhmmss, mmdd := now()
	reply = message{fields: map[int]string{11: req.fields[11], 12: hhmmss, 13: mmdd, 41: tid, 42: req.fields[42]}}
	switch req.mti {
	case "0800":
		reply.mti = "0810"
		reply.fields[60] = req.fields[60]
		tmk, ok := s.tmks[tid]
		if !ok {
			reply.fields[39] = "03" // invalid merchant / terminal
			return reply, nil, nil
		}
		layout := "003"
		if len(req.fields[60]) >= 11 {
			layout = req.fields[60][8:11]
		}
		pikLen := 16
		if layout == "001" {
			pikLen = 8
		}
		pik, mk := randomKey(pikLen), randomKey(8)
		f62 := append(append(ecb(tmk, pik), kcv(pik)...), ecb(tmk, mk)...)
		if layout != "001" {
			f62 = append(f62, make([]byte, 8)...)
		}
		f62 = append(f62, kcv(mk)...)
		if layout == "004" {
			tdk := randomKey(16)
			f62 = append(append(f62, ecb(tmk, tdk)...), kcv(tdk)...)
		}
		s.mu.Lock()
		s.sessions[tid] = &session{mak: mk}
		s.mu.Unlock()
		reply.fields[39] = "00"
		reply.fields[62] = string(f62)
		return reply, nil, nil
	case "0820":
		reply.mti = "0830"
		reply.fields[39] = "00"
		reply.fields[60] = req.fields[60]
		delete(reply.fields, 12)
		delete(reply.fields, 13)
		return reply, nil, nil
	case "0200", "0400":
		s.mu.Lock()
		sess := s.sessions[tid]
		s.mu.Unlock()
		reply.mti = "0210"
		if req.mti == "0400" {
			reply.mti = "0410"
		}
		for _, f := range []int{3, 4, 49} {
			if v, ok := req.fields[f]; ok {
				reply.fields[f] = v
			}
		}
		if len(req.fields[60]) >= 8 {
			reply.fields[60] = req.fields[60][:8]
		}
		if sess == nil {
			reply.fields[39] = "99" // sign in again
			return reply, nil, nil
		}
		if _, ok := req.fields[64]; !ok {
			reply.fields[39] = "A0"
			return reply, nil, nil
		}
		if err := checkMac(req, sess.mak); err != nil {
			reply.fields[39] = "A0"
			return reply, nil, nil
		}
		reply.fields[37] = fmt.Sprintf("%012d", s.rrn.Add(1))
		reply.fields[39] = "00"
		if req.mti == "0200" {
			reply.fields[38] = fmt.Sprintf("%06d", s.rrn.Load()%1000000)
		}
		s.approved.Add(1)
		return reply, sess.mak, nil
	}
	return reply, nil, fmt.Errorf("MTI %s is not served", req.mti)
}

// checkMac recomputes F64 over the request as it was encoded (re-encoding the decoded fields gives the same
// bytes in this dialect).
func checkMac(req message, mak []byte) error {
	fields := map[int]string{}
	for f, v := range req.fields {
		fields[f] = v
	}
	want := req.fields[64]
	delete(fields, 64)
	encoded := encodeMessage(message{mti: req.mti, fields: fields}, mak)
	if got := string(encoded[len(encoded)-8:]); got != want {
		return errors.New("MAC mismatch")
	}
	return nil
}

func (s *server) serve(conn net.Conn) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	for {
		var n uint16
		if err := binary.Read(r, binary.BigEndian, &n); err != nil {
			return
		}
		frame := make([]byte, n)
		if _, err := io.ReadFull(r, frame); err != nil || n < 11 {
			return
		}
		s.requests.Add(1)
		s.inFlight.Add(1)
		tpdu, header := frame[:5], frame[5:11]
		req, err := decodeMessage(frame[11:])
		if err != nil {
			log.Printf("a frame that does not decode: %v", err)
			s.inFlight.Add(-1)
			return
		}
		reply, mak, err := s.handle(req)
		if err != nil {
			log.Print(err)
			s.inFlight.Add(-1)
			return
		}
		body := encodeMessage(reply, mak)
		out := make([]byte, 0, 2+11+len(body))
		out = binary.BigEndian.AppendUint16(out, uint16(11+len(body)))
		out = append(out, tpdu[0], tpdu[3], tpdu[4], tpdu[1], tpdu[2]) // the reply swaps the addresses
		out = append(out, header...)
		out = append(out, body...)
		_, err = conn.Write(out)
		s.inFlight.Add(-1)
		if err != nil {
			return
		}
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:5000", "where terminals connect")
	keys := flag.String("keys", "", "terminal list: tid,mid,tmk,kcv (posstorm terminals export)")
	metrics := flag.String("metrics", "", "serve Prometheus text on this address (/metrics)")
	flag.Parse()
	if *keys == "" {
		log.Fatal("-keys is required: the terminals' master keys")
	}
	tmks, err := readKeys(*keys)
	if err != nil {
		log.Fatalf("%s: %v", *keys, err)
	}
	s := &server{tmks: tmks, sessions: map[string]*session{}}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	if *metrics != "" {
		http.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintf(w, "# TYPE mini_requests_total counter\nmini_requests_total %d\n", s.requests.Load())
			fmt.Fprintf(w, "# TYPE mini_approved_total counter\nmini_approved_total %d\n", s.approved.Load())
			fmt.Fprintf(w, "# TYPE mini_in_flight gauge\nmini_in_flight %d\n", s.inFlight.Load())
		})
		go func() { log.Fatal(http.ListenAndServe(*metrics, nil)) }()
	}
	log.Printf("mini-switch listening on %s with %d terminals", ln.Addr(), len(tmks))
	for {
		conn, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go s.serve(conn)
	}
}
