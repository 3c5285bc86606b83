package obs

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"sort"
	"strings"
	"time"

	"wallets/internal/obs/metricname"
)

// Unit is a CloudWatch metric unit.
type Unit string

// The units this service uses (any CloudWatch unit name is valid). None is
// EMF's default: a metric in None is written without a Unit, which saves
// its bytes on every line; nothing in infra/ reads a metric by its unit.
const (
	UnitCount        Unit = "Count"
	UnitMilliseconds Unit = "Milliseconds"
	UnitNone         Unit = "None"
)

// The metric names are package metricname's, which infra/ reads without
// linking this package.

// Names of the metrics every invocation emits (see Finish) with the
// dimension set [["Function"]]: Requests (1) and Latency (ms) on every line,
// 4xx and 5xx (1) only on a line that answered one, so their Sum counts
// them (their rate is 4xx / Requests).
const (
	MetricRequests = metricname.Requests
	MetricLatency  = metricname.Latency
	Metric4xx      = metricname.Status4xx
	Metric5xx      = metricname.Status5xx
)

// Names of the business metrics the handlers emit (see Count and Metric),
// all dimensioned by Function.
const (
	// AmountMoved is the amount of one accepted money movement (a deposit,
	// a withdrawal, a collected charge), in currency units: its Sum is the
	// money moved, its SampleCount the movements accepted.
	MetricAmountMoved = metricname.AmountMoved
	// RejectedMovements counts movements refused because the balance would
	// go negative (a withdrawal, a collection). Other refusals are the
	// function's 4xx, failures its 5xx. The infra's alarm RejectedDebits
	// watches it for Function business-debit (a charge's collection);
	// both names are deployed, so they stay.
	MetricRejectedMovements = metricname.RejectedMovements
	MetricIdempotentReplays = metricname.IdempotentReplays
	MetricLoginFailures     = metricname.LoginFailures
	MetricLoginThrottled    = metricname.LoginThrottled
)

// Names of the events relay's metrics (package relay), dimensioned by
// Function.
const (
	// EventsPublished counts events the relay published (to the bus and,
	// as deliveries, to the delivery queue); at least once, so a retried
	// batch counts again.
	MetricEventsPublished = metricname.EventsPublished
	// DeliveriesDelivered counts webhook attempts answered with a 2xx.
	MetricDeliveriesDelivered = metricname.DeliveriesDelivered
	// DeliveriesRetried counts failed attempts with another one due.
	MetricDeliveriesRetried = metricname.DeliveriesRetried
	// DeliveriesDead counts deliveries dead-lettered (their last attempt
	// failed).
	MetricDeliveriesDead = metricname.DeliveriesDead
	// OutboxAgeSeconds is how long the oldest unpublished event has
	// waited, in seconds (unit None), sampled once per relay invocation:
	// alarm on it growing.
	MetricOutboxAgeSeconds = metricname.OutboxAgeSeconds
)

// Count adds value to the counter name for this invocation (unit None).
// dims are key/value pairs ("Operation", "deposit"); a dangling key is
// ignored. Keep dimension values few (an enum, never an id). Without dims
// the metric is dimensioned by Function. Outside an invocation it does
// nothing.
func Count(ctx context.Context, name string, value float64, dims ...string) {
	var m map[string]string
	if len(dims) >= 2 {
		m = make(map[string]string, len(dims)/2)
		for i := 0; i+1 < len(dims); i += 2 {
			m[dims[i]] = dims[i+1]
		}
	}
	Metric(ctx, name, UnitNone, value, m)
}

// Metric records one value of the metric name in unit with the given
// dimensions, to be written in the invocation's log line when it ends;
// repeated names become a value array. Without dims the metric is
// dimensioned by Function (the cheapest: it joins the request metrics'
// directive). Another dimension set adds a directive, and its dimension
// values become members of the line: name dimensions like metrics
// (Capitalized), never like the line's fields. Outside an invocation it
// does nothing.
func Metric(ctx context.Context, name string, unit Unit, value float64, dims map[string]string) {
	st := stateFrom(ctx)
	if st == nil || name == "" || math.IsNaN(value) || math.IsInf(value, 0) {
		return
	}
	d := make(map[string]string, len(dims))
	for k, v := range dims {
		if k == "" {
			continue
		}
		if v == "" {
			v = "none"
		}
		d[k] = v
	}
	if len(d) == 0 {
		d["Function"] = st.inv.Function
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.done {
		return
	}
	st.metrics = append(st.metrics, point{name: name, unit: unit, value: value, dims: d})
}

// point is one recorded metric value.
type point struct {
	name  string
	unit  Unit
	value float64
	dims  map[string]string
}

// emfMetric is a MetricDefinition of the EMF specification.
type emfMetric struct {
	Name string `json:"Name"`
	Unit Unit   `json:"Unit,omitempty"`
}

// emfDirective is a MetricDirective of the EMF specification.
type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMeta struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

// group is the metrics recorded with one dimension set and its values.
type group struct {
	keys   []string // sorted
	dims   map[string]string
	points []point
}

// groupPoints gathers points by dimension set and values, in the order
// first recorded.
func groupPoints(points []point) []*group {
	var groups []*group
	byKey := map[string]*group{}
	for _, p := range points {
		k := dimsKey(p.dims)
		g, ok := byKey[k]
		if !ok {
			g = &group{dims: p.dims}
			for key := range p.dims {
				g.keys = append(g.keys, key)
			}
			sort.Strings(g.keys)
			byKey[k] = g
			groups = append(groups, g)
		}
		g.points = append(g.points, p)
	}
	return groups
}

// emfValues gathers metrics under one directive of the dimension keys: the
// directive, the metric names in the order first recorded, and each one's
// value (a number, or an array of the values recorded more than once). A
// metric in None is written without a Unit (EMF's default).
func emfValues(keys []string, metrics []point) (emfDirective, []string, map[string]any) {
	dir := emfDirective{Namespace: Namespace, Dimensions: [][]string{keys}}
	recorded := map[string][]float64{}
	var names []string
	for _, p := range metrics {
		if _, seen := recorded[p.name]; !seen {
			unit := p.unit
			if unit == UnitNone {
				unit = ""
			}
			dir.Metrics = append(dir.Metrics, emfMetric{Name: p.name, Unit: unit})
			names = append(names, p.name)
		}
		recorded[p.name] = append(recorded[p.name], p.value)
	}
	values := make(map[string]any, len(names))
	for name, vs := range recorded {
		if len(vs) == 1 {
			values[name] = vs[0]
		} else {
			values[name] = vs
		}
	}
	return dir, names, values
}

// dimsKey identifies a dimension set with its values.
func dimsKey(d map[string]string) string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(d[k])
		b.WriteByte(0)
	}
	return b.String()
}

// lineEMF returns, as log attributes, the EMF members that make the
// invocation's log line its EMF document: the request metrics and the
// business metrics dimensioned by Function alone under one directive
// [["Function"]], then one directive per other dimension set of business
// metrics, its dimension values and metric values as members of the line.
// taken holds the line's other members (the value of a string member, nil
// for any other): Function must be among them. A dimension set that cannot
// join the line — a dimension the line already has with another value, a
// metric name the line already has — is returned apart, for a document of
// its own (writeEMF); this service records none.
func lineEMF(ts time.Time, function string, request, business []point, taken map[string]any) (attrs []slog.Attr, apart []point) {
	meta := emfMeta{Timestamp: ts.UnixMilli()}
	own := append([]point(nil), request...)
	var others []*group
	for _, g := range groupPoints(business) {
		switch {
		case len(g.keys) != 1 || g.dims["Function"] != function:
			others = append(others, g)
		case fits(g, taken): // a name of a request metric is no clash: it becomes a value array
			own = append(own, g.points...)
		default:
			apart = append(apart, g.points...)
		}
	}
	add := func(keys []string, g *group, ps []point) {
		dir, names, values := emfValues(keys, ps)
		if g != nil {
			for _, k := range keys {
				if _, ok := taken[k]; !ok {
					taken[k] = g.dims[k]
					attrs = append(attrs, slog.String(k, g.dims[k]))
				}
			}
		}
		for _, name := range names {
			taken[name] = nil
			attrs = append(attrs, slog.Any(name, values[name]))
		}
		meta.CloudWatchMetrics = append(meta.CloudWatchMetrics, dir)
	}
	add([]string{"Function"}, nil, own)
	for _, g := range others {
		if !fits(g, taken) {
			apart = append(apart, g.points...)
			continue
		}
		add(g.keys, g, g.points)
	}
	attrs = append(attrs, slog.Any("_aws", meta))
	return attrs, apart
}

// fits reports whether g's dimensions and metrics can be members of a line
// that already has the members taken.
func fits(g *group, taken map[string]any) bool {
	for _, k := range g.keys {
		if v, ok := taken[k]; ok && v != g.dims[k] {
			return false
		}
	}
	for _, p := range g.points {
		if _, ok := taken[p.name]; ok {
			return false
		}
		if _, ok := g.dims[p.name]; ok {
			return false
		}
	}
	return true
}

// emfDoc builds one EMF document of its own: the _aws metadata, each
// dimension and each metric value as a top-level member, then props
// (request id and such) as extra members that are searchable in Logs
// Insights but are not dimensions.
func emfDoc(ts time.Time, g *group, props map[string]any) ([]byte, error) {
	doc := make(map[string]any, len(g.keys)+len(g.points)+len(props)+1)
	for _, k := range g.keys {
		doc[k] = g.dims[k]
	}
	dir, names, values := emfValues(g.keys, g.points)
	for _, name := range names {
		doc[name] = values[name]
	}
	for k, v := range props {
		if _, taken := doc[k]; !taken {
			doc[k] = v
		}
	}
	doc["_aws"] = emfMeta{Timestamp: ts.UnixMilli(), CloudWatchMetrics: []emfDirective{dir}}
	return json.Marshal(doc)
}

// writeEMF writes the metrics that could not join the invocation's line,
// one document per dimension set, one line each.
func (o *Obs) writeEMF(ts time.Time, points []point, props map[string]any) {
	for _, g := range groupPoints(points) {
		o.writeLine(emfDoc(ts, g, props))
	}
}

func (o *Obs) writeLine(b []byte, err error) {
	if err != nil {
		o.log.Error("emf encode", slog.String("error", err.Error()))
		return
	}
	_, _ = o.out.Write(append(b, '\n'))
}
