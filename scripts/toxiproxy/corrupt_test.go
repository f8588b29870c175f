package main

import (
	"encoding/binary"
	"testing"
)

func frame(body int) []byte {
	out := make([]byte, 2+body)
	binary.BigEndian.PutUint16(out, uint16(body))
	for i := 2; i < len(out); i++ {
		out[i] = byte(i)
	}
	return out
}

func TestDamage(t *testing.T) {
	for i := 0; i < 200; i++ {
		in := frame(60)
		flipped := damage(in, "flip")
		diff := 0
		for j := range in {
			if in[j] != flipped[j] {
				diff++
				if j < 2 {
					t.Fatalf("flip touched the length prefix")
				}
			}
		}
		if diff != 1 || len(flipped) != len(in) {
			t.Fatalf("flip: %d bytes differ, length %d", diff, len(flipped))
		}
		cut := damage(in, "truncate")
		if n := int(binary.BigEndian.Uint16(cut)); n != len(cut)-2 || n < 1 || n >= 60 {
			t.Fatalf("truncate: prefix %d for %d bytes", n, len(cut)-2)
		}
		short := damage(in, "length")
		if n := int(binary.BigEndian.Uint16(short)); len(short) != len(in) || n < 1 || n >= 60 {
			t.Fatalf("length: prefix %d for a 60-byte body", n)
		}
		if in[0] != 0 || in[1] != 60 {
			t.Fatalf("the input was changed")
		}
	}
	// A chunk that is not one whole frame gets a flipped byte whatever the mode.
	part := []byte{1, 2, 3}
	if got := damage(part, "truncate"); len(got) != 3 {
		t.Fatalf("partial chunk: length %d", len(got))
	}
}
