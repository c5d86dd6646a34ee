package taskchild

import (
	"fmt"
	"os"
)

// pipes are the three control pipes between the shim and a child.
type pipes struct {
	specR, specW     *os.File
	statusR, statusW *os.File
	startR, startW   *os.File
}

func newPipes() (*pipes, error) {
	p := &pipes{}
	for _, pair := range []struct{ r, w **os.File }{
		{&p.specR, &p.specW}, {&p.statusR, &p.statusW}, {&p.startR, &p.startW},
	} {
		r, w, err := os.Pipe()
		if err != nil {
			p.closeAll()
			return nil, fmt.Errorf("create control pipe: %w", err)
		}
		*pair.r, *pair.w = r, w
	}
	return p, nil
}

func (p *pipes) closeChildEnds() {
	closeAll(&p.specR, &p.statusW, &p.startR)
}

func (p *pipes) closeParentEnds() {
	closeAll(&p.specW, &p.statusR, &p.startW)
}

func (p *pipes) closeAll() {
	p.closeChildEnds()
	p.closeParentEnds()
}

func closeAll(files ...**os.File) {
	for _, f := range files {
		if *f != nil {
			(*f).Close()
			*f = nil
		}
	}
}
