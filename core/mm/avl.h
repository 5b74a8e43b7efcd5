/*
 * avl: an intrusive AVL tree keyed by 64-bit integers, for ordered lookups
 * in O(log n) (the buddy allocator's blocks, map entries).
 *
 * The tree never allocates: nodes are embedded in the caller's structures
 * and found back with container_of.  Keys are read through key_of, must be
 * unique within a tree, and must not change while the node is linked.
 * Lock key: the owner's.
 */
#ifndef PHOBOS_MM_AVL_H
#define PHOBOS_MM_AVL_H

#include "core/env.h"

struct avl_node {
	struct avl_node *left, *right;
	int height;
};

struct avl_tree {
	struct avl_node *root;
	uint64_t (*key_of)(const struct avl_node *n);
	size_t count;
};

void avl_init(struct avl_tree *t, uint64_t (*key_of)(const struct avl_node *n));
void avl_insert(struct avl_tree *t, struct avl_node *n);
void avl_remove(struct avl_tree *t, struct avl_node *n);
/* The node with the greatest key <= key, or NULL. */
struct avl_node *avl_find_le(const struct avl_tree *t, uint64_t key);
/* The node with the least key >= key, or NULL. */
struct avl_node *avl_find_ge(const struct avl_tree *t, uint64_t key);
/* Checks order, heights and balance; returns the node count. Panics if broken. */
size_t avl_check(const struct avl_tree *t);

#endif
