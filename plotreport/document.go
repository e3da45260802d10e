package plotreport

import (
	"bytes"
	"fmt"
	"html"
	"strings"
)

// Document is a report before it is written out: a title and blocks in
// reading order. Render writes it as Markdown or HTML, with its figures as
// PNG files.
type Document struct {
	Title  string
	Blocks []Block
}

// Block is one part of a document; exactly one of its fields is set.
type Block struct {
	// Heading starts a section.
	Heading string
	// Para is a paragraph; Label, when set, leads it in bold.
	Para  string
	Label string
	// List is a bulleted list.
	List []string
	// Table is a table.
	Table *Table
	// Figure is a plot, written as a PNG beside the document.
	Figure *Figure
}

// Table is a table with a header row; cells are plain text.
type Table struct {
	Header []string
	// Right marks the columns to align right (numbers).
	Right []bool
	Rows  [][]string
}

// Figure is a plot and where it goes.
type Figure struct {
	// File is the PNG's name, relative to the document.
	File string
	// Caption says what the plot shows; it is also the image's alt text.
	Caption string
	Chart   Chart
	// SVG, when set, names an SVG copy of the plot written beside the PNG.
	SVG string
}

func (d *Document) heading(s string) { d.Blocks = append(d.Blocks, Block{Heading: s}) }

func (d *Document) para(label, format string, a ...any) {
	d.Blocks = append(d.Blocks, Block{Label: label, Para: fmt.Sprintf(format, a...)})
}

func (d *Document) list(items []string) {
	if len(items) > 0 {
		d.Blocks = append(d.Blocks, Block{List: items})
	}
}

func (d *Document) table(t *Table) { d.Blocks = append(d.Blocks, Block{Table: t}) }

func (d *Document) figure(f *Figure) { d.Blocks = append(d.Blocks, Block{Figure: f}) }

// Figures returns the document's figures in order.
func (d *Document) Figures() []*Figure {
	var fs []*Figure
	for _, b := range d.Blocks {
		if b.Figure != nil {
			fs = append(fs, b.Figure)
		}
	}
	return fs
}

// Markdown writes the document as GitHub-flavoured Markdown.
func (d *Document) Markdown() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n", mdEscape(d.Title))
	for _, blk := range d.Blocks {
		b.WriteByte('\n')
		switch {
		case blk.Heading != "":
			fmt.Fprintf(&b, "## %s\n", mdEscape(blk.Heading))
		case blk.Table != nil:
			writeMDTable(&b, blk.Table)
		case blk.Figure != nil:
			f := blk.Figure
			fmt.Fprintf(&b, "![%s](%s)\n\n*%s*\n", mdEscape(f.Caption), f.File, mdEscape(f.Caption))
		case blk.List != nil:
			for _, it := range blk.List {
				fmt.Fprintf(&b, "- %s\n", mdEscape(it))
			}
		default:
			if blk.Label != "" {
				fmt.Fprintf(&b, "**%s** ", mdEscape(blk.Label))
			}
			fmt.Fprintf(&b, "%s\n", mdEscape(blk.Para))
		}
	}
	return b.Bytes()
}

func writeMDTable(b *bytes.Buffer, t *Table) {
	row := func(cells []string) {
		b.WriteByte('|')
		for _, c := range cells {
			fmt.Fprintf(b, " %s |", strings.ReplaceAll(mdEscape(c), "|", `\|`))
		}
		b.WriteByte('\n')
	}
	row(t.Header)
	b.WriteByte('|')
	for i := range t.Header {
		if i < len(t.Right) && t.Right[i] {
			b.WriteString(" ---: |")
		} else {
			b.WriteString(" --- |")
		}
	}
	b.WriteByte('\n')
	for _, r := range t.Rows {
		row(r)
	}
}

// mdEscape keeps Markdown from reading text as markup: it escapes the
// characters that start emphasis, code, links, HTML and table cells, and
// flattens newlines. An underscore inside a word (step_time_s) is left
// alone: it cannot start emphasis there.
func mdEscape(s string) string {
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
	var b strings.Builder
	rs := []rune(s)
	word := func(i int) bool {
		if i < 0 || i >= len(rs) {
			return false
		}
		c := rs[i]
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	for i, c := range rs {
		switch c {
		case '\\', '`', '*', '[', ']', '<', '>', '#':
			b.WriteByte('\\')
		case '_':
			if !word(i-1) || !word(i+1) {
				b.WriteByte('\\')
			}
		}
		b.WriteRune(c)
	}
	return b.String()
}

// htmlStyle is the page's stylesheet, inline so that the page needs no
// other file than its PNGs.
const htmlStyle = `body { font-family: "Liberation Sans", Arial, Helvetica, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.9rem; display: block; max-width: 100%; overflow-x: auto; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.55rem; vertical-align: top; }
th { background: #f2f2f2; } td.r { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
figure { margin: 1rem 0; } figure img { max-width: 100%; } figcaption { font-size: 0.9rem; color: #555; }
`

// HTML writes the document as one HTML page; the figures are referenced by
// their relative file names.
func (d *Document) HTML() []byte {
	var b bytes.Buffer
	e := html.EscapeString
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>%s</h1>\n", e(d.Title), htmlStyle, e(d.Title))
	for _, blk := range d.Blocks {
		switch {
		case blk.Heading != "":
			fmt.Fprintf(&b, "<h2>%s</h2>\n", e(blk.Heading))
		case blk.Table != nil:
			t := blk.Table
			b.WriteString("<table>\n<thead><tr>")
			for _, h := range t.Header {
				fmt.Fprintf(&b, "<th>%s</th>", e(h))
			}
			b.WriteString("</tr></thead>\n<tbody>\n")
			for _, r := range t.Rows {
				b.WriteString("<tr>")
				for i, c := range r {
					if i < len(t.Right) && t.Right[i] {
						fmt.Fprintf(&b, "<td class=\"r\">%s</td>", e(c))
					} else {
						fmt.Fprintf(&b, "<td>%s</td>", e(c))
					}
				}
				b.WriteString("</tr>\n")
			}
			b.WriteString("</tbody>\n</table>\n")
		case blk.Figure != nil:
			f := blk.Figure
			fmt.Fprintf(&b, "<figure><img src=\"%s\" alt=\"%s\"><figcaption>%s</figcaption></figure>\n", e(f.File), e(f.Caption), e(f.Caption))
		case blk.List != nil:
			b.WriteString("<ul>\n")
			for _, it := range blk.List {
				fmt.Fprintf(&b, "<li>%s</li>\n", e(it))
			}
			b.WriteString("</ul>\n")
		default:
			b.WriteString("<p>")
			if blk.Label != "" {
				fmt.Fprintf(&b, "<strong>%s</strong> ", e(blk.Label))
			}
			fmt.Fprintf(&b, "%s</p>\n", e(blk.Para))
		}
	}
	b.WriteString("</body>\n</html>\n")
	return b.Bytes()
}

// Format is the document's output format.
type Format string

const (
	// Markdown writes report.md.
	Markdown Format = "markdown"
	// HTML writes report.html.
	HTML Format = "html"
)

// ParseFormat checks a --format value; "md" stands for markdown.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "markdown", "md":
		return Markdown, nil
	case "html":
		return HTML, nil
	}
	return "", fmt.Errorf("%q is not a format (allowed: markdown, html)", s)
}

// File is one output file: a name relative to the output folder and its bytes.
type File struct {
	Name string
	Data []byte
}

// Render returns the document in the format (report.md or report.html)
// followed by its figures as PNG files, in document order.
func Render(d *Document, f Format) ([]File, error) {
	var page File
	switch f {
	case Markdown:
		page = File{"report.md", d.Markdown()}
	case HTML:
		page = File{"report.html", d.HTML()}
	default:
		return nil, fmt.Errorf("unknown format %q", f)
	}
	files := []File{page}
	for _, fig := range d.Figures() {
		data, err := RenderPNG(fig.Chart)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fig.File, err)
		}
		files = append(files, File{fig.File, data})
		if fig.SVG != "" {
			svg, err := RenderSVG(fig.Chart)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", fig.SVG, err)
			}
			files = append(files, File{fig.SVG, svg})
		}
	}
	return files, nil
}
