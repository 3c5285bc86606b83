package obs

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"sort"
	"strings"
	"time"
)

// Unit is a CloudWatch metric unit.
type Unit string

// The units this service uses (any CloudWatch unit name is valid).
const (
	UnitCount        Unit = "Count"
	UnitMilliseconds Unit = "Milliseconds"
	UnitNone         Unit = "None"
)

// Names of the metrics every invocation emits (see Finish) with the
// dimension set [["Function"]]. 4xx and 5xx are 0 or 1 so that their Average is a rate.
const (
	MetricRequests = "Requests"
	MetricLatency  = "Latency"
	Metric4xx      = "4xx"
	Metric5xx      = "5xx"
)

// Names of the business metrics the handlers emit (see Count and Metric).
const (
	MetricMoneyMovements    = "MoneyMovements"    // dims Operation, Outcome
	MetricAmountMoved       = "AmountMoved"       // UnitNone, currency units; dim Operation
	MetricIdempotentReplays = "IdempotentReplays" //
	MetricLoginFailures     = "LoginFailures"     //
	MetricLoginThrottled    = "LoginThrottled"    //
)

// Count adds value to the counter name for this invocation. dims are
// key/value pairs ("Operation", "deposit", "Outcome", "accepted"); a dangling
// key is ignored. Keep dimension values few (an enum, never an id). Without
// dims the metric is dimensioned by Function. Outside an invocation it does
// nothing.
func Count(ctx context.Context, name string, value float64, dims ...string) {
	var m map[string]string
	if len(dims) >= 2 {
		m = make(map[string]string, len(dims)/2)
		for i := 0; i+1 < len(dims); i += 2 {
			m[dims[i]] = dims[i+1]
		}
	}
	Metric(ctx, name, UnitCount, value, m)
}

// Metric records one value of the metric name in unit with the given
// dimensions, to be written as EMF when the invocation ends. Values with the
// same dimensions share one EMF document; repeated names become a value
// array. Without dims the metric is dimensioned by Function. Outside an
// invocation it does nothing.
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

// emfDoc builds one EMF document: the _aws metadata, each dimension and each
// metric value as a top-level member, then props (request id and such) as
// extra members that are searchable in Logs Insights but are not dimensions.
func emfDoc(ts time.Time, dims map[string]string, metrics []point, props map[string]any) ([]byte, error) {
	keys := make([]string, 0, len(dims))
	for k := range dims {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	doc := make(map[string]any, len(dims)+len(metrics)+len(props)+1)
	for _, k := range keys {
		doc[k] = dims[k]
	}
	dir, names, values := emfValues(keys, metrics)
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

// emfValues gathers metrics under one directive of the dimension keys: the
// directive, the metric names in the order first recorded, and each one's
// value (a number, or an array of the values recorded more than once).
func emfValues(keys []string, metrics []point) (emfDirective, []string, map[string]any) {
	dir := emfDirective{Namespace: Namespace, Dimensions: [][]string{keys}}
	recorded := map[string][]float64{}
	var names []string
	for _, p := range metrics {
		if _, seen := recorded[p.name]; !seen {
			dir.Metrics = append(dir.Metrics, emfMetric{Name: p.name, Unit: p.unit})
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

// invocationEMF returns, as log attributes, the EMF members that make the
// invocation's own log line an EMF document: the request metrics and the
// business metrics dimensioned by Function alone, under one directive of
// the dimension set [Function]. The other business metrics are returned
// apart, to be written as documents of their own (writeEMF).
func invocationEMF(ts time.Time, function string, request, business []point) (attrs []slog.Attr, rest []point) {
	metrics := append([]point(nil), request...)
	for _, p := range business {
		if len(p.dims) == 1 && p.dims["Function"] == function {
			metrics = append(metrics, p)
		} else {
			rest = append(rest, p)
		}
	}
	dir, names, values := emfValues([]string{"Function"}, metrics)
	attrs = append(attrs, slog.String("Function", function))
	for _, name := range names {
		attrs = append(attrs, slog.Any(name, values[name]))
	}
	attrs = append(attrs, slog.Any("_aws", emfMeta{Timestamp: ts.UnixMilli(), CloudWatchMetrics: []emfDirective{dir}}))
	return attrs, rest
}

// writeEMF writes business metrics, one document per distinct dimension
// set, one line each.
func (o *Obs) writeEMF(ts time.Time, business []point, props map[string]any) {
	groups := map[string][]point{}
	var order []string
	for _, p := range business {
		k := dimsKey(p.dims)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], p)
	}
	for _, k := range order {
		ps := groups[k]
		o.writeLine(emfDoc(ts, ps[0].dims, ps, props))
	}
}

func (o *Obs) writeLine(b []byte, err error) {
	if err != nil {
		o.log.Error("emf encode", slog.String("error", err.Error()))
		return
	}
	_, _ = o.out.Write(append(b, '\n'))
}
