/*
 * avl: see avl.h.  Recursive insert and remove rebalance on the way back
 * up; the depth is at most 1.44 log2(n), so recursion stays shallow.
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

static struct avl_node *avl_rotate_right(struct avl_node *n)
{
	struct avl_node *l = n->left;

	n->left = l->right;
	l->right = n;
	avl_fix(n);
	avl_fix(l);
	return l;
}

static struct avl_node *avl_rotate_left(struct avl_node *n)
{
	struct avl_node *r = n->right;

	n->right = r->left;
	r->left = n;
	avl_fix(n);
	avl_fix(r);
	return r;
}

/* Restores |h(left) - h(right)| <= 1 at n after one side changed by one. */
static struct avl_node *avl_balance(struct avl_node *n)
{
	int b = avl_h(n->left) - avl_h(n->right);

	avl_fix(n);
	if (b > 1) {
		if (avl_h(n->left->left) < avl_h(n->left->right))
			n->left = avl_rotate_left(n->left);
		return avl_rotate_right(n);
	}
	if (b < -1) {
		if (avl_h(n->right->right) < avl_h(n->right->left))
			n->right = avl_rotate_right(n->right);
		return avl_rotate_left(n);
	}
	return n;
}

static struct avl_node *avl_insert_at(const struct avl_tree *t, struct avl_node *root,
				      struct avl_node *n)
{
	if (root == NULL)
		return n;
	uint64_t k = t->key_of(n), rk = t->key_of(root);
	KASSERT(k != rk);
	if (k < rk)
		root->left = avl_insert_at(t, root->left, n);
	else
		root->right = avl_insert_at(t, root->right, n);
	return avl_balance(root);
}

void avl_init(struct avl_tree *t, uint64_t (*key_of)(const struct avl_node *n))
{
	t->root = NULL;
	t->key_of = key_of;
	t->count = 0;
}

void avl_insert(struct avl_tree *t, struct avl_node *n)
{
	n->left = n->right = NULL;
	n->height = 1;
	t->root = avl_insert_at(t, t->root, n);
	t->count++;
}

/* Unlinks the minimum of the subtree into *min; returns the new subtree. */
static struct avl_node *avl_take_min(struct avl_node *root, struct avl_node **min)
{
	if (root->left == NULL) {
		*min = root;
		return root->right;
	}
	root->left = avl_take_min(root->left, min);
	return avl_balance(root);
}

static struct avl_node *avl_remove_at(const struct avl_tree *t, struct avl_node *root,
				      struct avl_node *n)
{
	if (root == NULL)
		panic("avl_remove: node not in tree");
	if (root != n) {
		if (t->key_of(n) < t->key_of(root))
			root->left = avl_remove_at(t, root->left, n);
		else
			root->right = avl_remove_at(t, root->right, n);
		return avl_balance(root);
	}
	if (root->left == NULL)
		return root->right;
	if (root->right == NULL)
		return root->left;
	struct avl_node *succ;
	struct avl_node *right = avl_take_min(root->right, &succ);
	succ->left = root->left;
	succ->right = right;
	return avl_balance(succ);
}

void avl_remove(struct avl_tree *t, struct avl_node *n)
{
	t->root = avl_remove_at(t, t->root, n);
	t->count--;
}

struct avl_node *avl_find_le(const struct avl_tree *t, uint64_t key)
{
	struct avl_node *best = NULL;

	for (struct avl_node *n = t->root; n != NULL;) {
		if (t->key_of(n) <= key) {
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
		if (t->key_of(n) >= key) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

static size_t avl_check_at(const struct avl_tree *t, const struct avl_node *n, bool has_lo,
			   uint64_t lo, bool has_hi, uint64_t hi)
{
	if (n == NULL)
		return 0;
	uint64_t k = t->key_of(n);
	if ((has_lo && k <= lo) || (has_hi && k >= hi))
		panic("avl_check: key %llx out of order", (unsigned long long)k);
	int b = avl_h(n->left) - avl_h(n->right);
	if (n->height != 1 + MAX(avl_h(n->left), avl_h(n->right)) || b < -1 || b > 1)
		panic("avl_check: node %llx unbalanced or wrong height", (unsigned long long)k);
	return 1 + avl_check_at(t, n->left, has_lo, lo, true, k) +
	       avl_check_at(t, n->right, true, k, has_hi, hi);
}

size_t avl_check(const struct avl_tree *t)
{
	size_t n = avl_check_at(t, t->root, false, 0, false, 0);

	if (n != t->count)
		panic("avl_check: %zu nodes, count says %zu", n, t->count);
	return n;
}
