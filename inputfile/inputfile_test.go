package inputfile

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestReadCapped: a file over MaxSize, and /dev/zero, are refused after
// reading MaxSize+1 bytes; a file of exactly MaxSize is read.
func TestReadCapped(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.toml")
	big := filepath.Join(dir, "big.toml")
	if err := os.WriteFile(ok, make([]byte, MaxSize), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, make([]byte, MaxSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if src, err := Read(ok); err != nil || len(src) != MaxSize {
		t.Fatalf("Read(%d bytes): %d, %v", MaxSize, len(src), err)
	}
	if _, err := Read(big); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Read(big): %v, want ErrTooLarge", err)
	}
	if runtime.GOOS != "windows" {
		if _, err := Read("/dev/zero"); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Read(/dev/zero): %v, want ErrTooLarge", err)
		}
	}
}

// TestCheckDepth: nesting beyond MaxDepth is refused at its line; brackets
// inside strings and comments do not count; real files pass.
func TestCheckDepth(t *testing.T) {
	deep := "name = \"x\"\n\na = " + strings.Repeat("{b = ", 5000) + "1" + strings.Repeat("}", 5000) + "\n"
	var de *DepthError
	if err := CheckDepth([]byte(deep)); !errors.As(err, &de) || de.Line != 3 {
		t.Fatalf("deep inline tables: %v, want a DepthError at line 3", err)
	}
	if err := CheckDepth([]byte("a = " + strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1))); err == nil {
		t.Fatal("deep arrays passed")
	}
	ok := strings.Join([]string{
		`[cluster]`,
		`name = "` + strings.Repeat("[{", 50) + `"  # ` + strings.Repeat("[", 50),
		`lit = '` + strings.Repeat("{", 50) + `'`,
		`multi = """`, strings.Repeat("[", 50), `\"""`, `"""`,
		`mlit = '''` + strings.Repeat("{", 50) + `'''`,
		`[[calibration.gemm]]`,
		`m = [[1, 2], [3, {a = [4]}]]`,
	}, "\n")
	if err := CheckDepth([]byte(ok)); err != nil {
		t.Fatalf("ordinary file: %v", err)
	}
}
