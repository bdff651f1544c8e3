package query

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// TimeFormat is how AWS writes every timestamp in Query API responses (Expiration,
// CreateDate, …): UTC, whole seconds. botocore parses exactly this form.
const TimeFormat = "2006-01-02T15:04:05Z"

// RequestIDHeader carries the request id on every response, as AWS's
// (x-amzn-RequestId; header names are case-insensitive).
const RequestIDHeader = "x-amzn-RequestId"

// Timestamp is a time that encoding/xml writes as AWS does (TimeFormat), for result
// structs rendered by reflection.
type Timestamp time.Time

// MarshalText writes t in TimeFormat, UTC.
func (t Timestamp) MarshalText() ([]byte, error) {
	return []byte(time.Time(t).UTC().Format(TimeFormat)), nil
}

// XMLMarshaler is a result that writes its own elements, for hot paths: it skips
// encoding/xml's reflection.
type XMLMarshaler interface {
	MarshalQueryXML(w *XMLWriter)
}

// XMLWriter writes the elements of a result. Text is escaped.
type XMLWriter struct {
	buf *bytes.Buffer
}

// Start opens element name.
func (w *XMLWriter) Start(name string) {
	w.buf.WriteByte('<')
	w.buf.WriteString(name)
	w.buf.WriteByte('>')
}

// End closes element name.
func (w *XMLWriter) End(name string) {
	w.buf.WriteString("</")
	w.buf.WriteString(name)
	w.buf.WriteByte('>')
}

// String writes <name>text</name>.
func (w *XMLWriter) String(name, text string) {
	w.Start(name)
	escapeText(w.buf, text)
	w.End(name)
}

// OptString writes <name>text</name> unless text is empty.
func (w *XMLWriter) OptString(name, text string) {
	if text != "" {
		w.String(name, text)
	}
}

// Int writes <name>n</name>.
func (w *XMLWriter) Int(name string, n int64) {
	w.Start(name)
	var b [20]byte
	w.buf.Write(strconv.AppendInt(b[:0], n, 10))
	w.End(name)
}

// Bool writes <name>true</name> or <name>false</name>.
func (w *XMLWriter) Bool(name string, v bool) {
	w.String(name, strconv.FormatBool(v))
}

// Time writes <name>t</name> in TimeFormat.
func (w *XMLWriter) Time(name string, t time.Time) {
	w.Start(name)
	var b [len(TimeFormat) + 8]byte
	w.buf.Write(t.UTC().AppendFormat(b[:0], TimeFormat))
	w.End(name)
}

// escapeText writes s with XML's special characters escaped, and any byte sequence
// that is not valid XML character data replaced, as encoding/xml does.
func escapeText(buf *bytes.Buffer, s string) {
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '<' || c == '>' || c == '&' || c == '\'' || c == '"' || c < 0x20 || c >= 0x80 {
			clean = false
			break
		}
	}
	if clean {
		buf.WriteString(s)
		return
	}
	_ = xml.EscapeText(buf, []byte(s))
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// WriteResult writes a successful response of action in namespace ns:
//
//	<ActionResponse xmlns="ns"><ActionResult>…</ActionResult>
//	<ResponseMetadata><RequestId>id</RequestId></ResponseMetadata></ActionResponse>
//
// result is an XMLMarshaler, or a struct encoding/xml renders as the Result element's
// content (tags name its elements; Timestamp for times); nil writes no Result element,
// as AWS's actions without output do.
func WriteResult(w http.ResponseWriter, ns, action, requestID string, result any) error {
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 {
			buf.Reset()
			bufPool.Put(buf)
		}
	}()
	buf.Reset()
	buf.WriteString(`<` + action + `Response xmlns="`)
	escapeText(buf, ns)
	buf.WriteString(`">`)
	if m, ok := result.(XMLMarshaler); ok {
		buf.WriteString("<" + action + "Result>")
		m.MarshalQueryXML(&XMLWriter{buf: buf})
		buf.WriteString("</" + action + "Result>")
	} else if result != nil {
		enc := xml.NewEncoder(buf)
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			return err
		}
		if err := enc.Flush(); err != nil {
			return err
		}
	}
	buf.WriteString("<ResponseMetadata><RequestId>")
	escapeText(buf, requestID)
	buf.WriteString("</RequestId></ResponseMetadata></" + action + "Response>")
	writeXML(w, http.StatusOK, requestID, buf.Bytes())
	return nil
}

// WriteError writes e as AWS's error response in namespace ns, with the status e
// says, else model's status for its code (model may be nil), else StatusOf:
//
//	<ErrorResponse xmlns="ns"><Error><Type>Sender</Type><Code>…</Code>
//	<Message>…</Message></Error><RequestId>id</RequestId></ErrorResponse>
//
// Type is Sender for 4xx and Receiver for 5xx. It returns the status written.
func WriteError(w http.ResponseWriter, model *Model, ns, requestID string, e *Error) int {
	status := e.Status
	if status == 0 && model != nil {
		if info, ok := model.Error(e.Code); ok && info.Status != 0 {
			status = info.Status
		}
	}
	if status == 0 {
		status = StatusOf(e.Code)
	}
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(buf)
	buf.Reset()
	buf.WriteString(`<ErrorResponse xmlns="`)
	escapeText(buf, ns)
	buf.WriteString(`"><Error><Type>` + typ + `</Type><Code>`)
	escapeText(buf, e.Code)
	buf.WriteString("</Code><Message>")
	escapeText(buf, e.Message)
	buf.WriteString("</Message></Error><RequestId>")
	escapeText(buf, requestID)
	buf.WriteString("</RequestId></ErrorResponse>")
	writeXML(w, status, requestID, buf.Bytes())
	return status
}

func writeXML(w http.ResponseWriter, status int, requestID string, body []byte) {
	h := w.Header()
	h["Content-Type"] = []string{"text/xml"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	h.Set(RequestIDHeader, requestID)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
