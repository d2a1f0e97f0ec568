package app

import (
	"context"
	"fmt"
	"strings"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/aepsflow/aepsflow/searchattr"
)

// CheckSearchAttributes fails unless every custom search attribute the workflow sets is
// registered with its type. An unregistered one does not fail a workflow: its tasks fail and retry
// forever, and the transaction looks stuck. Refusing to start is the clear alternative.
func CheckSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes of namespace %s: %w", namespace, err)
	}
	var missing []string
	for _, k := range searchattr.All() {
		if t, ok := resp.GetCustomAttributes()[k.GetName()]; !ok || t != k.GetValueType() {
			missing = append(missing, k.GetName()+"="+k.GetValueType().String())
		}
	}
	if missing != nil {
		return fmt.Errorf("namespace %s lacks search attributes %s: register them with "+
			"`temporal operator search-attribute create --namespace %s --name <Name> --type <Type>` "+
			"(make dev does this for the dev server; `aepsflow search-attributes` lists them)",
			namespace, strings.Join(missing, ", "), namespace)
	}
	return nil
}
