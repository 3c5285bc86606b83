// Package obstest checks, for tests, the lines that wallets/internal/obs
// writes: each is one JSON object, and an invocation's line is also its
// CloudWatch EMF document.
package obstest

import (
	"encoding/json"
	"fmt"
)

// EMF decodes line and checks that it is an EMF document as CloudWatch
// reads it
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
// a JSON object whose _aws has a Timestamp (ms since the epoch) and at
// least one directive in CloudWatchMetrics, each with a Namespace, at least
// one dimension set of at most 30 keys, each key naming a top-level string
// member, and at least one metric, each naming a top-level number or array
// of at most 100 numbers; and, as obs writes them, no metric in two
// directives. It returns the decoded line.
func EMF(line []byte) (map[string]any, error) {
	var doc map[string]any
	if err := json.Unmarshal(line, &doc); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	aws, ok := doc["_aws"].(map[string]any)
	if !ok {
		return doc, fmt.Errorf("no _aws object")
	}
	if ts, ok := aws["Timestamp"].(float64); !ok || ts < 1e12 {
		return doc, fmt.Errorf("_aws.Timestamp %v is not in ms since the epoch", aws["Timestamp"])
	}
	dirs, ok := aws["CloudWatchMetrics"].([]any)
	if !ok || len(dirs) == 0 {
		return doc, fmt.Errorf("_aws.CloudWatchMetrics %v: no directive", aws["CloudWatchMetrics"])
	}
	seen := map[string]bool{}
	for i, d := range dirs {
		dir, ok := d.(map[string]any)
		if !ok {
			return doc, fmt.Errorf("directive %d is not an object", i)
		}
		if ns, _ := dir["Namespace"].(string); ns == "" {
			return doc, fmt.Errorf("directive %d: no Namespace", i)
		}
		sets, ok := dir["Dimensions"].([]any)
		if !ok || len(sets) == 0 {
			return doc, fmt.Errorf("directive %d: Dimensions %v", i, dir["Dimensions"])
		}
		for _, s := range sets {
			keys, ok := s.([]any)
			if !ok || len(keys) > 30 {
				return doc, fmt.Errorf("directive %d: dimension set %v", i, s)
			}
			for _, k := range keys {
				key, _ := k.(string)
				if _, ok := doc[key].(string); !ok {
					return doc, fmt.Errorf("directive %d: dimension %q has no top-level string value (%v)", i, key, doc[key])
				}
			}
		}
		metrics, ok := dir["Metrics"].([]any)
		if !ok || len(metrics) == 0 {
			return doc, fmt.Errorf("directive %d: Metrics %v", i, dir["Metrics"])
		}
		for _, m := range metrics {
			def, _ := m.(map[string]any)
			name, _ := def["Name"].(string)
			if name == "" {
				return doc, fmt.Errorf("directive %d: metric %v without a name", i, m)
			}
			if seen[name] {
				return doc, fmt.Errorf("metric %q in two directives", name)
			}
			seen[name] = true
			if _, ok := def["Unit"]; ok {
				if u, _ := def["Unit"].(string); u == "" {
					return doc, fmt.Errorf("metric %q: Unit %v", name, def["Unit"])
				}
			}
			switch v := doc[name].(type) {
			case float64:
			case []any:
				if len(v) == 0 || len(v) > 100 {
					return doc, fmt.Errorf("metric %q: %d values", name, len(v))
				}
				for _, x := range v {
					if _, ok := x.(float64); !ok {
						return doc, fmt.Errorf("metric %q: value %v is not a number", name, x)
					}
				}
			default:
				return doc, fmt.Errorf("metric %q has no top-level numeric value (%v)", name, doc[name])
			}
		}
	}
	return doc, nil
}
