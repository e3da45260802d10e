// Command pngcheck fails on a blank picture: it decodes each PNG named on
// the command line and counts its distinct colours. A page a browser
// rendered with content has many; a blank or uniform one has one or two.
//
//	pngcheck [-min N] FILE.png...
package main

import (
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
)

func main() {
	minColours := flag.Int("min", 8, "fewest distinct colours a picture must have")
	flag.Parse()
	failed := 0
	for _, path := range flag.Args() {
		n, w, h, err := colours(path)
		switch {
		case err != nil:
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			failed++
		case n < *minColours:
			fmt.Fprintf(os.Stderr, "%s: %dx%d, only %d distinct colours: blank\n", path, w, h, n)
			failed++
		default:
			fmt.Printf("%s: %dx%d, %d distinct colours\n", path, w, h, n)
		}
	}
	if failed > 0 || flag.NArg() == 0 {
		os.Exit(1)
	}
}

// colours counts the distinct colours of the PNG at path.
func colours(path string) (n, w, h int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, 0, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("not a PNG: %w", err)
	}
	return distinct(img), img.Bounds().Dx(), img.Bounds().Dy(), nil
}

func distinct(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
		}
	}
	return len(seen)
}
