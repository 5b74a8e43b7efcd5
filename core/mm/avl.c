/*
 * avl: see avl.h.  Iterative: a change walks parent links upwards, fixing
 * heights and rotating where a side got two taller than the other, and
 * stops at the first subtree whose height came out as it was before the
 * change, since nothing above it can have changed either.
 */
#include "core/mm/avl.h"

static int avl_h(const struct avl_node *n)
{
	return n ? n->height : 0;
}

static void avl_fix(struct avl_node *n)
{
	n->height = 1 + MAX(avl_h(n->left), avl_h(n->right));
}

/* Makes the link that pointed at old (its parent's, or the root) point at new. */
static void avl_replace(struct avl_tree *t, struct avl_node *old, struct avl_node *new)
{
	struct avl_node *p = old->parent;

	if (p == NULL)
		t->root = new;
	else if (p->left == old)
		p->left = new;
	else
		p->right = new;
	if (new != NULL)
		new->parent = p;
}

static struct avl_node *avl_rotate_right(struct avl_tree *t, struct avl_node *n)
{
	struct avl_node *l = n->left;

	n->left = l->right;
	if (l->right != NULL)
		l->right->parent = n;
	avl_replace(t, n, l);
	l->right = n;
	n->parent = l;
	avl_fix(n);
	avl_fix(l);
	return l;
}

static struct avl_node *avl_rotate_left(struct avl_tree *t, struct avl_node *n)
{
	struct avl_node *r = n->right;

	n->right = r->left;
	if (r->left != NULL)
		r->left->parent = n;
	avl_replace(t, n, r);
	r->left = n;
	n->parent = r;
	avl_fix(n);
	avl_fix(r);
	return r;
}

/* Restores |h(left) - h(right)| <= 1 at n; returns the subtree's new root. */
static struct avl_node *avl_balance(struct avl_tree *t, struct avl_node *n)
{
	int b = avl_h(n->left) - avl_h(n->right);

	if (b > 1) {
		if (avl_h(n->left->left) < avl_h(n->left->right))
			avl_rotate_left(t, n->left);
		return avl_rotate_right(t, n);
	}
	if (b < -1) {
		if (avl_h(n->right->right) < avl_h(n->right->left))
			avl_rotate_right(t, n->right);
		return avl_rotate_left(t, n);
	}
	avl_fix(n);
	return n;
}

/* n's subtree changed height by one below it: rebalance up to where it stops. */
static void avl_rebalance_from(struct avl_tree *t, struct avl_node *n)
{
	while (n != NULL) {
		int before = n->height;
		struct avl_node *r = avl_balance(t, n);
		if (r->height == before)
			return;
		n = r->parent;
	}
}

void avl_init(struct avl_tree *t, uint64_t (*key_of)(const struct avl_node *n))
{
	t->root = NULL;
	t->key_of = key_of;
	t->count = 0;
}

static void avl_link(struct avl_tree *t, struct avl_node *parent, struct avl_node **at,
		     struct avl_node *n)
{
	n->left = n->right = NULL;
	n->parent = parent;
	n->height = 1;
	*at = n;
	t->count++;
	avl_rebalance_from(t, parent);
}

void avl_insert(struct avl_tree *t, struct avl_node *n)
{
	struct avl_node *parent = NULL, **at = &t->root;

	n->key = t->key_of(n);
	while (*at != NULL) {
		parent = *at;
		KASSERT(n->key != parent->key);
		at = n->key < parent->key ? &parent->left : &parent->right;
	}
	avl_link(t, parent, at, n);
}

void avl_insert_before(struct avl_tree *t, struct avl_node *next, struct avl_node *n)
{
	struct avl_node *p;

	n->key = t->key_of(n);
	if (next != NULL) {
		KASSERT(n->key < next->key);
		if (next->left == NULL) {
			avl_link(t, next, &next->left, n);
			return;
		}
		p = next->left;
	} else if ((p = t->root) == NULL) {
		avl_link(t, NULL, &t->root, n);
		return;
	}
	while (p->right != NULL)
		p = p->right;
	KASSERT(p->key < n->key);
	avl_link(t, p, &p->right, n);
}

void avl_remove(struct avl_tree *t, struct avl_node *n)
{
	struct avl_node *from;

	if ((n->parent == NULL) != (t->root == n))
		panic("avl_remove: node not in tree");
	if (n->left == NULL || n->right == NULL) {
		from = n->parent;
		avl_replace(t, n, n->left != NULL ? n->left : n->right);
	} else {
		/* the successor, leftmost on the right, takes n's place and height */
		struct avl_node *s = n->right;
		while (s->left != NULL)
			s = s->left;
		if (s == n->right) {
			from = s;
		} else {
			from = s->parent;
			from->left = s->right;
			if (s->right != NULL)
				s->right->parent = from;
			s->right = n->right;
			n->right->parent = s;
		}
		s->left = n->left;
		n->left->parent = s;
		s->height = n->height;
		avl_replace(t, n, s);
	}
	t->count--;
	avl_rebalance_from(t, from);
}

struct avl_node *avl_next(const struct avl_node *n)
{
	if (n->right != NULL) {
		n = n->right;
		while (n->left != NULL)
			n = n->left;
		return (struct avl_node *)n;
	}
	while (n->parent != NULL && n->parent->right == n)
		n = n->parent;
	return n->parent;
}

struct avl_node *avl_prev(const struct avl_node *n)
{
	if (n->left != NULL) {
		n = n->left;
		while (n->right != NULL)
			n = n->right;
		return (struct avl_node *)n;
	}
	while (n->parent != NULL && n->parent->left == n)
		n = n->parent;
	return n->parent;
}

struct avl_node *avl_find_le(const struct avl_tree *t, uint64_t key)
{
	struct avl_node *best = NULL;

	for (struct avl_node *n = t->root; n != NULL;) {
		if (n->key <= key) {
			best = n;
			n = n->right;
		} else {
			n = n->left;
		}
	}
	return best;
}

struct avl_node *avl_find_ge(const struct avl_tree *t, uint64_t key)
{
	struct avl_node *best = NULL;

	for (struct avl_node *n = t->root; n != NULL;) {
		if (n->key >= key) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

static size_t avl_check_at(const struct avl_tree *t, const struct avl_node *n,
			   const struct avl_node *parent, bool has_lo, uint64_t lo, bool has_hi,
			   uint64_t hi)
{
	if (n == NULL)
		return 0;
	uint64_t k = n->key;
	if (n->parent != parent)
		panic("avl_check: node %llx has a wrong parent link", (unsigned long long)k);
	if (k != t->key_of(n))
		panic("avl_check: node %llx: its key changed while linked", (unsigned long long)k);
	if ((has_lo && k <= lo) || (has_hi && k >= hi))
		panic("avl_check: key %llx out of order", (unsigned long long)k);
	int b = avl_h(n->left) - avl_h(n->right);
	if (n->height != 1 + MAX(avl_h(n->left), avl_h(n->right)) || b < -1 || b > 1)
		panic("avl_check: node %llx unbalanced or wrong height", (unsigned long long)k);
	return 1 + avl_check_at(t, n->left, n, has_lo, lo, true, k) +
	       avl_check_at(t, n->right, n, true, k, has_hi, hi);
}

size_t avl_check(const struct avl_tree *t)
{
	size_t n = avl_check_at(t, t->root, NULL, false, 0, false, 0);

	if (n != t->count)
		panic("avl_check: %zu nodes, count says %zu", n, t->count);
	return n;
}
