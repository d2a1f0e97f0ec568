package workflows

import (
	"context"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
)

// CheckSearchAttributes fails unless every custom search attribute the workflow sets is
// registered as a Keyword. An unregistered one does not fail a workflow: its tasks fail and retry
// forever, and the transaction looks stuck. Refusing to start is the clear alternative.
func CheckSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes of namespace %s: %w", namespace, err)
	}
	var missing []string
	for _, name := range SearchAttributeNames() {
		if t, ok := resp.GetCustomAttributes()[name]; !ok || t != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
			missing = append(missing, name)
		}
	}
	if missing != nil {
		return fmt.Errorf("namespace %s lacks Keyword search attributes %s: register them with "+
			"`temporal operator search-attribute create --namespace %s --name <Name> --type Keyword` "+
			"(make dev does this for the dev server)", namespace, strings.Join(missing, ", "), namespace)
	}
	return nil
}
