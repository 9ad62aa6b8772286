package io.jseek.engine;

import io.jseek.model.KvBlock;
import io.jseek.model.KvPool;
import io.jseek.model.Session;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * KV blocks of finished sequences, kept for later prompts that start with the same tokens (a system
 * prompt, earlier turns of a conversation). A trie whose edges are the 16 tokens of one block: a prompt
 * walks down as far as its full blocks match and the new session starts from those blocks. When the pool
 * runs short, the least recently used leaf that no session is reading is released. Used by one thread
 * (the scheduler's).
 */
final class PrefixCache {
    private final KvPool pool;
    private final Node root = new Node(null, null, null);
    private long clock;
    private int size;

    private static final class Node {
        final Node parent;
        final Key key;
        final KvBlock block;
        final Map<Key, Node> children = new HashMap<>();
        long used;

        Node(Node parent, Key key, KvBlock block) {
            this.parent = parent;
            this.key = key;
            this.block = block;
        }
    }

    /** The tokens of one block, as a map key. */
    private record Key(int[] tokens) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(tokens, k.tokens);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(tokens);
        }
    }

    PrefixCache(KvPool pool) {
        this.pool = pool;
        pool.evictor(this::evictOne);
    }

    /** Blocks held. */
    int size() {
        return size;
    }

    /**
     * The cached blocks for the longest prefix of {@code tokens} made of whole blocks, leaving at least one
     * token to compute (its logits are needed).
     */
    List<KvBlock> lookup(int[] tokens) {
        List<KvBlock> found = new ArrayList<>();
        Node node = root;
        int blocks = (tokens.length - 1) / KvPool.BLOCK_TOKENS;
        for (int b = 0; b < blocks; b++) {
            Node next = node.children.get(key(tokens, b));
            if (next == null) {
                break;
            }
            next.used = ++clock;
            found.add(next.block);
            node = next;
        }
        return found;
    }

    /** Keeps the full blocks of {@code session}, whose positions hold {@code tokens}, for later prompts. */
    void add(Session session, int[] tokens) {
        List<KvBlock> blocks = session.fullBlocks();
        Node node = root;
        for (int b = 0; b < blocks.size() && (b + 1) * KvPool.BLOCK_TOKENS <= tokens.length; b++) {
            Key k = key(tokens, b);
            Node next = node.children.get(k);
            if (next == null) {
                pool.retain(blocks.get(b));
                next = new Node(node, k, blocks.get(b));
                node.children.put(k, next);
                size++;
            }
            next.used = ++clock;
            node = next;
        }
    }

    /** Releases every block the cache holds. */
    void clear() {
        for (Node n : nodes()) {
            pool.release(n.block);
        }
        root.children.clear();
        size = 0;
    }

    /** Releases the least recently used leaf block that only the cache holds; false if there is none. */
    private boolean evictOne() {
        Node victim = null;
        for (Node n : nodes()) {
            if (n.children.isEmpty() && pool.refs(n.block) == 1 && (victim == null || n.used < victim.used)) {
                victim = n;
            }
        }
        if (victim == null) {
            return false;
        }
        remove(victim);
        return true;
    }

    private void remove(Node n) {
        n.parent.children.remove(n.key);
        pool.release(n.block);
        size--;
    }

    /** Every node below the root. */
    private List<Node> nodes() {
        List<Node> out = new ArrayList<>();
        List<Node> stack = new ArrayList<>(root.children.values());
        while (!stack.isEmpty()) {
            Node n = stack.removeLast();
            out.add(n);
            stack.addAll(n.children.values());
        }
        return out;
    }

    private static Key key(int[] tokens, int block) {
        return new Key(Arrays.copyOfRange(tokens, block * KvPool.BLOCK_TOKENS, (block + 1) * KvPool.BLOCK_TOKENS));
    }
}
