/*
 * avl: an intrusive AVL tree keyed by 64-bit integers, for ordered lookups
 * in O(log n) (the buddy allocator's blocks, map entries).
 *
 * The tree never allocates: nodes are embedded in the caller's structures
 * and found back with container_of.  A node's key is read through key_of
 * once, when it is inserted, and kept in the node: keys must be unique
 * within a tree and must not change while the node is linked.
 * Insert and remove rebalance from the changed place upwards and stop at
 * the first subtree whose height did not change (O(1) amortised rotations);
 * parent links give in-order neighbours without a search.
 * Lock key: the owner's.
 */
#ifndef PHOBOS_MM_AVL_H
#define PHOBOS_MM_AVL_H

#include "core/env.h"

struct avl_node {
	struct avl_node *left, *right, *parent;
	uint64_t key; /* key_of(node), read at insert */
	int height;   /* of the subtree rooted here; a leaf is 1 */
};

struct avl_tree {
	struct avl_node *root;
	uint64_t (*key_of)(const struct avl_node *n);
	size_t count;
};

void avl_init(struct avl_tree *t, uint64_t (*key_of)(const struct avl_node *n));
void avl_insert(struct avl_tree *t, struct avl_node *n);
/*
 * Inserts n as the in-order predecessor of next (as the greatest node when
 * next is NULL) without comparing keys: for callers that know where n goes.
 * n's key must lie between next's and its present predecessor's (asserted
 * against whichever of the two the insert touches; avl_check sees all).
 */
void avl_insert_before(struct avl_tree *t, struct avl_node *next, struct avl_node *n);
void avl_remove(struct avl_tree *t, struct avl_node *n);
/* In-order neighbours, or NULL. */
struct avl_node *avl_next(const struct avl_node *n);
struct avl_node *avl_prev(const struct avl_node *n);
/* The node with the greatest key <= key, or NULL. */
struct avl_node *avl_find_le(const struct avl_tree *t, uint64_t key);
/* The node with the least key >= key, or NULL. */
struct avl_node *avl_find_ge(const struct avl_tree *t, uint64_t key);
/* Checks order, parent links, heights and balance; returns the node count.
 * Panics if broken. */
size_t avl_check(const struct avl_tree *t);

#endif
