package main

import (
	"encoding/binary"
	"math/rand"

	"github.com/Shopify/toxiproxy/v2/stream"
	"github.com/Shopify/toxiproxy/v2/toxics"
)

// CorruptToxic damages ISO 8583 frames in transit (posstorm's "transmission-errors" incident): each chunk of
// data is damaged with probability Probability. On the lab's links a chunk is one length-prefixed frame
// ([LEN 2B][body]), since terminals and the switch write a frame at once.
type CorruptToxic struct {
	// Probability (0..1) that a chunk is damaged.
	Probability float64 `json:"probability"`
	// "flip" (one byte after the length inverted), "truncate" (the frame's tail cut and its length prefix
	// made to fit: a short frame), "length" (the length prefix made shorter than the frame: a short frame,
	// then the rest read as the next one), or "mix" (one of the three at random; the default).
	Mode string `json:"mode"`
}

var modes = [...]string{"flip", "truncate", "length"}

func (t *CorruptToxic) Pipe(stub *toxics.ToxicStub) {
	for {
		select {
		case <-stub.Interrupt:
			return
		case c := <-stub.Input:
			if c == nil {
				stub.Close()
				return
			}
			if len(c.Data) > 0 && rand.Float64() < t.Probability { // #nosec G404 -- fault injection, not security
				c = &stream.StreamChunk{Data: damage(c.Data, t.Mode), Timestamp: c.Timestamp}
			}
			stub.Output <- c
		}
	}
}

// damage returns a damaged copy of data. Truncate and length need a whole frame in the chunk; other
// chunks get a flipped byte.
func damage(data []byte, mode string) []byte {
	out := append([]byte(nil), data...)
	if mode == "" || mode == "mix" {
		mode = modes[rand.Intn(len(modes))] // #nosec G404
	}
	whole := len(out) > 4 && int(binary.BigEndian.Uint16(out)) == len(out)-2
	switch {
	case mode == "truncate" && whole:
		body := 1 + rand.Intn(len(out)-3) // 1 .. len(body)-1 bytes kept
		out = out[:2+body]
		binary.BigEndian.PutUint16(out, uint16(body))
	case mode == "length" && whole:
		binary.BigEndian.PutUint16(out, uint16(1+rand.Intn(len(out)-3)))
	default:
		first := 0
		if whole {
			first = 2
		}
		out[first+rand.Intn(len(out)-first)] ^= 0xFF // #nosec G404
	}
	return out
}

func init() {
	toxics.Register("corrupt", new(CorruptToxic))
}
