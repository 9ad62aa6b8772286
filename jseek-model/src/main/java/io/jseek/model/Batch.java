package io.jseek.model;

import java.util.ArrayList;
import java.util.List;

/**
 * The tokens of one forward pass: one or more parts, each some tokens of one session, laid out as rows
 * in order. Every row knows its session and position, so attention and the cache see each sequence on its
 * own while the matrix products run over all rows together.
 */
public final class Batch {
    final Session[] parts;
    final int[][] partTokens;
    /** Per row: its part, its position in that part's session, its token. */
    final int[] partOf;
    final int[] position;
    final int[] tokens;
    /** Per part: its last row. */
    final int[] lastRow;
    /** The rows whose logits a forward pass returns (unless it returns every row's): each part's last few, in order. */
    final int[] logitRows;

    private Batch(List<Session> sessions, List<int[]> tokenLists) {
        this(sessions, tokenLists, java.util.Collections.nCopies(sessions.size(), 1));
    }

    /** {@code withLogits}: per part, how many of its last rows give logits. */
    private Batch(List<Session> sessions, List<int[]> tokenLists, List<Integer> withLogits) {
        int n = sessions.size();
        if (n == 0) {
            throw new IllegalArgumentException("an empty batch");
        }
        parts = sessions.toArray(new Session[0]);
        partTokens = tokenLists.toArray(new int[0][]);
        int rows = 0;
        for (int p = 0; p < n; p++) {
            if (partTokens[p].length == 0) {
                throw new IllegalArgumentException("no tokens to feed");
            }
            for (int q = 0; q < p; q++) {
                if (parts[q] == parts[p]) {
                    throw new IllegalArgumentException("a session appears twice in one batch");
                }
            }
            rows += partTokens[p].length;
        }
        partOf = new int[rows];
        position = new int[rows];
        tokens = new int[rows];
        lastRow = new int[n];
        int r = 0;
        for (int p = 0; p < n; p++) {
            int p0 = parts[p].position();
            for (int i = 0; i < partTokens[p].length; i++, r++) {
                partOf[r] = p;
                position[r] = p0 + i;
                tokens[r] = partTokens[p][i];
            }
            lastRow[p] = r - 1;
        }
        logitRows = new int[withLogits.stream().mapToInt(Integer::intValue).sum()];
        for (int p = 0, i = 0; p < n; p++) {
            int k = withLogits.get(p);
            if (k < 1 || k > partTokens[p].length) {
                throw new IllegalArgumentException("logits of " + k + " rows of a part of " + partTokens[p].length);
            }
            for (int j = k - 1; j >= 0; j--) {
                logitRows[i++] = lastRow[p] - j;
            }
        }
    }

    /**
     * A batch of one part. For a single token it is the session's own batch, refilled, so that a decode
     * step allocates nothing.
     */
    public static Batch of(Session session, int[] tokens) {
        if (tokens.length != 1) {
            return new Batch(List.of(session), List.<int[]>of(tokens));
        }
        Batch b = session.decodeBatch;
        if (b == null) {
            b = new Batch(List.of(session), List.<int[]>of(new int[1]));
            session.decodeBatch = b;
        }
        b.partTokens[0][0] = tokens[0];
        b.tokens[0] = tokens[0];
        b.position[0] = session.position();
        return b;
    }

    /** Collects parts; positions are read when {@link #build} is called. */
    public static final class Builder {
        private final List<Session> sessions = new ArrayList<>();
        private final List<int[]> tokens = new ArrayList<>();
        private final List<Integer> withLogits = new ArrayList<>();

        public Builder add(Session session, int[] partTokens) {
            return add(session, partTokens, 1);
        }

        /** A part whose last {@code logitRows} rows give logits (a speculative verify: all of them). */
        public Builder add(Session session, int[] partTokens, int logitRows) {
            sessions.add(session);
            tokens.add(partTokens);
            withLogits.add(logitRows);
            return this;
        }

        public Batch build() {
            return new Batch(sessions, tokens, withLogits);
        }
    }

    public int rows() {
        return tokens.length;
    }

    /** Layer l's cache of row r's session. */
    KvLayer cache(int r, int l) {
        return parts[partOf[r]].layer(l);
    }
}
