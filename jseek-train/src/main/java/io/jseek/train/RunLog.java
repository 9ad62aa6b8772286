package io.jseek.train;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A long run's record: one CSV row per step (appended and flushed, so a crash loses nothing) and a
 * progress line on the console (step, the given values, elapsed time and ETA), redrawn in place on a
 * terminal and printed every so often otherwise.
 */
public final class RunLog implements AutoCloseable {
    private final Writer csv;
    private final String[] columns;
    private final PrintStream console;
    private final boolean terminal;
    private final long start = System.nanoTime();
    private final String phase;
    private final int total;
    private final List<double[]> rows = new ArrayList<>();
    private long lastPrint;

    /** {@code append}: continue an existing CSV (a resumed run) instead of starting it anew. */
    public RunLog(Path csvFile, String phase, int total, PrintStream console, boolean append, String... columns) {
        this.columns = columns;
        this.console = console;
        this.terminal = System.console() != null;
        this.phase = phase;
        this.total = total;
        try {
            boolean exists = append && Files.exists(csvFile);
            csv = Files.newBufferedWriter(csvFile, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    exists ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING);
            if (!exists) {
                csv.write("step," + String.join(",", columns) + "\n");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Records step {@code step} (0-based) with one value per column. */
    public void add(int step, double... values) {
        double[] row = new double[values.length + 1];
        row[0] = step;
        System.arraycopy(values, 0, row, 1, values.length);
        rows.add(row);
        StringBuilder b = new StringBuilder().append(step);
        for (double v : values) {
            b.append(',').append(Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.6g", v));
        }
        try {
            csv.write(b.append('\n').toString());
            csv.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        long now = System.nanoTime();
        if (console != null && (step + 1 == total || now - lastPrint > (terminal ? 200_000_000L : 10_000_000_000L))) {
            lastPrint = now;
            console.print((terminal ? "\r" : "") + progress(step, values) + (terminal && step + 1 < total ? "" : "\n"));
            console.flush();
        }
    }

    private String progress(int step, double[] values) {
        double elapsed = (System.nanoTime() - start) / 1e9;
        int done = step + 1;
        double eta = elapsed / Math.max(1, rows.size()) * (total - done);
        int width = 20;
        int filled = (int) Math.round(width * done / (double) total);
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%s %d/%d [%s%s]", phase, done, total,
                "=".repeat(filled), " ".repeat(width - filled)));
        for (int i = 0; i < columns.length && i < values.length; i++) {
            if (!Double.isNaN(values[i])) {
                b.append(String.format(Locale.ROOT, " %s %.4g", columns[i], values[i]));
            }
        }
        return b.append(String.format(Locale.ROOT, " | %s, ETA %s", clock(elapsed), clock(eta))).toString();
    }

    private static String clock(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String.format("%d:%02d", s / 60, s % 60);
    }

    /** The values of a column over the steps recorded by this log. */
    public double[] column(String name) {
        int k = List.of(columns).indexOf(name) + 1;
        if (k == 0) {
            throw new IllegalArgumentException("no column " + name);
        }
        return rows.stream().mapToDouble(r -> r[k]).toArray();
    }

    public double[] steps() {
        return rows.stream().mapToDouble(r -> r[0]).toArray();
    }

    @Override
    public void close() {
        try {
            csv.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
