package buses

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os/exec"

	"github.com/corokernel/corokernel/expat"
	"github.com/corokernel/corokernel/kernel"
)

// Beazley's course sends the same events to coroutines in other threads
// (through a queue) and in other processes (pickled through a pipe):
// "coroutines inside threads and processes". RunStages does both with
// the stages of Run: the source runs where Run runs it, and ToDicts, the
// filters and Locations run in a task on another kernel of a group (the
// thread target) or in a child process fed through a pipe (the
// coprocess). The output is Run's, byte for byte.

// Events travel as records: the kind (one byte), the name's length
// (uvarint) and bytes, the text's length and bytes.

// EncodeEvents returns a Sink that writes each event to w as a record.
func EncodeEvents(w *bufio.Writer) Sink {
	var n [binary.MaxVarintLen64]byte
	return func(kind expat.Kind, name, text []byte) {
		w.WriteByte(byte(kind))
		w.Write(n[:binary.PutUvarint(n[:], uint64(len(name)))])
		w.Write(name)
		w.Write(n[:binary.PutUvarint(n[:], uint64(len(text)))])
		w.Write(text)
	}
}

// maxRecord bounds a record's name or text: a stream that claims more is
// not one EncodeEvents wrote.
const maxRecord = 1 << 30

// DecodeEvents reads records from r until its end and sends each event to
// sink, in order.
func DecodeEvents(r *bufio.Reader, sink Sink) error {
	var name, text []byte
	for {
		k, err := r.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if name, err = readField(r, name); err != nil {
			return err
		}
		if text, err = readField(r, text); err != nil {
			return err
		}
		sink(expat.Kind(k), name, text)
	}
}

func readField(r *bufio.Reader, b []byte) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, errTruncated(err)
	}
	if n > maxRecord {
		return nil, fmt.Errorf("buses: event record of %d bytes", n)
	}
	if uint64(cap(b)) < n {
		b = make([]byte, n)
	}
	b = b[:n]
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, errTruncated(err)
	}
	return b, nil
}

func errTruncated(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errors.New("buses: event stream truncated")
	}
	return err
}

// stages returns the pipeline after the source, writing to bw.
func stages(bw *bufio.Writer, f Filter) Sink {
	stage := Locations(bw)
	if f.Direction != "" {
		stage = FilterOnField("direction", f.Direction, stage)
	}
	if f.Route != "" {
		stage = FilterOnField("route", f.Route, stage)
	}
	return ToDicts(stage)
}

// RunEvents is the child's side of the coprocess: it reads records from
// r and runs the stages on them, writing to w.
func RunEvents(r io.Reader, w io.Writer, f Filter) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	err := DecodeEvents(bufio.NewReaderSize(r, 64<<10), stages(bw, f))
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return err
}

// batchSize is how many bytes of records go in one message to the stage
// task (thread) or one write to the pipe (process).
const batchSize = 64 << 10

// RunThread is Run with the stages in a task on another kernel: a group
// of two, the source in a Go task on kernel 0, sending its events as
// batches of records through the stage task's mailbox on kernel 1.
func RunThread(source Source, r io.Reader, w io.Writer, f Filter) error {
	g := kernel.NewGroup(2, kernel.WithPoller("epoll"))
	var stageErr, srcErr error
	stage := g.SpawnOn(1, kernel.Go(func(s *kernel.Sys) {
		bw := bufio.NewWriterSize(w, 64<<10)
		sink := stages(bw, f)
		for {
			word, data, err := s.MailRecv()
			if err != nil {
				stageErr = err
				return
			}
			if len(data) > 0 {
				if err := DecodeEvents(bufio.NewReader(bytes.NewReader(data)), sink); err != nil {
					stageErr = err
					return
				}
			}
			if word != 0 { // the end
				stageErr = bw.Flush()
				return
			}
		}
	}))
	g.SpawnOn(0, kernel.Go(func(s *kernel.Sys) {
		var buf bytes.Buffer
		bw := bufio.NewWriterSize(&buf, batchSize)
		enc := EncodeEvents(bw)
		flush := func(end bool) {
			bw.Flush()
			var word uintptr
			if end {
				word = 1
			}
			if ok, err := s.MailSend(stage, word, buf.Bytes()); !ok && srcErr == nil {
				srcErr = fmt.Errorf("buses: the stage task is gone (%v)", err)
			}
			buf.Reset()
		}
		srcErr = source(r, func(kind expat.Kind, name, text []byte) {
			enc(kind, name, text)
			if bw.Buffered()+buf.Len() >= batchSize {
				flush(false)
			}
		})
		flush(true)
	}))
	if err := g.Run(); err != nil {
		return err
	}
	if srcErr != nil {
		return srcErr
	}
	return stageErr
}

// RunProcess is Run with the stages in a child process: child is the
// command that runs RunEvents on its standard input, writing to its
// standard output, which is w. The events go through the pipe as
// records.
func RunProcess(source Source, r io.Reader, w io.Writer, child *exec.Cmd) error {
	child.Stdout = w
	in, err := child.StdinPipe()
	if err != nil {
		return err
	}
	if err := child.Start(); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(in, batchSize)
	srcErr := source(r, EncodeEvents(bw))
	ferr := bw.Flush()
	in.Close()
	werr := child.Wait()
	switch {
	case srcErr != nil:
		return srcErr
	case werr != nil:
		return fmt.Errorf("buses: the stage process: %w", werr)
	}
	return ferr
}
