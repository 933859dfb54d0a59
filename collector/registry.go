package collector

import "sync"

// registry hands out the metric objects of one label set, creating them on
// first use. A hit takes a read lock and allocates nothing, so recording on
// a hot path stays cheap; the label-building name() call runs once per set.
type registry[K comparable, V any] struct {
	mu     sync.RWMutex
	m      map[K]V
	create func(K) V
}

// newRegistry returns a registry whose get creates with create.
func newRegistry[K comparable, V any](create func(K) V) *registry[K, V] {
	return &registry[K, V]{m: map[K]V{}, create: create}
}

// lookup returns the objects of k, if they exist.
func (r *registry[K, V]) lookup(k K) (V, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v, ok := r.m[k]
	return v, ok
}

func (r *registry[K, V]) get(k K) V {
	r.mu.RLock()
	v, ok := r.m[k]
	r.mu.RUnlock()
	if ok {
		return v
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok = r.m[k]; !ok {
		v = r.create(k)
		r.m[k] = v
	}
	return v
}

// remove forgets k; the next get of k creates its objects anew.
func (r *registry[K, V]) remove(k K) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, k)
}

// values returns the objects of every key, in no order.
func (r *registry[K, V]) values() []V {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]V, 0, len(r.m))
	for _, v := range r.m {
		out = append(out, v)
	}
	return out
}
