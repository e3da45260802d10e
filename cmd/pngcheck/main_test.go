package main

import (
	"image"
	"image/color"
	"testing"
)

func TestDistinct(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	if n := distinct(img); n != 1 {
		t.Fatalf("white picture: %d colours, want 1", n)
	}
	img.Set(1, 1, color.RGBA{R: 10, A: 255})
	img.Set(2, 2, color.RGBA{G: 10, A: 255})
	if n := distinct(img); n != 3 {
		t.Fatalf("%d colours, want 3", n)
	}
}
