package httpapi

import "sync"

// feedPageCache keeps rendered instruction-feed pages of one feed head by
// the exact provider, cursor and page size they answer, so a cached page
// can only be served for exactly the request that made it; when the head
// moves, the cache starts over.
type feedPageCache struct {
	mu       sync.Mutex
	head     int64
	pages    map[string][]byte
	bytes    int
	maxBytes int
}

func newFeedPageCache(maxBytes int) *feedPageCache {
	return &feedPageCache{pages: map[string][]byte{}, maxBytes: maxBytes}
}

func (c *feedPageCache) get(head int64, key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if head != c.head {
		return nil, false
	}
	b, ok := c.pages[key]
	return b, ok
}

func (c *feedPageCache) put(head int64, key string, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if head < c.head {
		return
	}
	if head > c.head || c.bytes+len(body) > c.maxBytes {
		clear(c.pages)
		c.head, c.bytes = head, 0
	}
	if len(body) > c.maxBytes {
		return
	}
	c.pages[key] = body
	c.bytes += len(body)
}
