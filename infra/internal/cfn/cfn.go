// Package cfn calls CfnResource members on constructs that Go sees only as
// IConstruct. The jsii proxy of a construct created on the JavaScript side
// (a FindAll result, a DefaultChild) may be a bare IConstruct that a Go type
// assertion cannot turn into a CfnResource; these call its CfnResource
// members through the jsii runtime instead.
package cfn

import (
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/aws/jsii-runtime-go/runtime"
)

// Type is the CloudFormation resource type of c ("" if it has none).
func Type(c constructs.IConstruct) string {
	var typ *string
	runtime.Get(c, "cfnResourceType", &typ)
	if typ == nil {
		return ""
	}
	return *typ
}

// Override sets the property at path of the resource c to value.
func Override(c constructs.IConstruct, path string, value any) {
	runtime.InvokeVoid(c, "addPropertyOverride", []any{jsii.String(path), value})
}

// DeleteProperty removes the property at path from the resource c.
func DeleteProperty(c constructs.IConstruct, path string) {
	runtime.InvokeVoid(c, "addPropertyDeletionOverride", []any{jsii.String(path)})
}
