package io.jseek.cli;

import io.jseek.model.hub.HubClient;
import java.io.PrintStream;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A download progress bar on standard error: one line per file, redrawn in place on a terminal (at most five
 * times a second), printed every 10 % otherwise (logs, CI).
 */
final class DownloadProgress implements HubClient.Progress {
    private final PrintStream err;
    private final boolean terminal = System.console() != null;
    private final AtomicLong done = new AtomicLong();
    private volatile long total;
    private volatile String file = "";
    private long started;
    private long startBytes;
    private long lastDraw;
    private int lastDecile;

    DownloadProgress(PrintStream err) {
        this.err = err;
    }

    @Override
    public synchronized void start(String path, long have, long size) {
        file = path;
        total = size;
        done.set(have);
        started = System.nanoTime();
        startBytes = have;
        lastDecile = -1;
        draw(true);
    }

    @Override
    public void advance(long n) {
        done.addAndGet(n);
        long now = System.nanoTime();
        if (now - lastDraw > 200_000_000L) {
            synchronized (this) {
                draw(false);
            }
        }
    }

    @Override
    public synchronized void finish(String path, boolean cached) {
        if (cached) {
            err.println("  " + path + ": in the cache");
            return;
        }
        done.set(total);
        draw(true);
        if (terminal) {
            err.println();
        }
    }

    @Override
    public synchronized void note(String message) {
        if (terminal) {
            err.print("\r\033[K");
        }
        err.println("  " + message);
    }

    private void draw(boolean force) {
        long now = System.nanoTime();
        lastDraw = now;
        long d = done.get();
        int decile = total > 0 ? (int) (10 * d / total) : 0;
        if (!terminal && !force && decile == lastDecile) {
            return;
        }
        lastDecile = decile;
        double seconds = Math.max(1e-3, (now - started) / 1e9);
        double rate = (d - startBytes) / seconds;
        StringBuilder sb = new StringBuilder("  ").append(file).append(' ');
        if (total > 0) {
            int width = 24;
            int fill = (int) (width * d / total);
            sb.append('[').append("#".repeat(fill)).append(" ".repeat(width - fill)).append("] ")
                    .append(String.format("%3d%% ", 100 * d / total));
        }
        sb.append(InfoCommand.bytes(d)).append(total > 0 ? " / " + InfoCommand.bytes(total) : "").append(String.format("  %s/s", InfoCommand.bytes((long) rate)));
        if (total > 0 && rate > 0 && d < total) {
            long eta = (long) ((total - d) / rate);
            sb.append(String.format("  ETA %d:%02d:%02d", eta / 3600, eta / 60 % 60, eta % 60));
        }
        if (terminal) {
            err.print("\r\033[K" + sb);
            err.flush();
        } else {
            err.println(sb);
        }
    }
}
