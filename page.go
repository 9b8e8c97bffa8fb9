package agentphone

// Page selects a window of a list: Limit items after skipping Offset.
type Page struct {
	Limit  int
	Offset int
}

// Page limits shared by every offset-paginated list.
const (
	DefaultPageLimit = 20
	MaxPageLimit     = 100
)

// List is one page of a list and the total number of items in the list.
type List[T any] struct {
	Items []T
	Total int
}

// HasMore reports whether items exist beyond this page.
func (l List[T]) HasMore(p Page) bool { return p.Offset+len(l.Items) < l.Total }
