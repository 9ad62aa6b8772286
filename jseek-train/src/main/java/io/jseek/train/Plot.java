package io.jseek.train;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/** A small line chart written as PNG (headless AWT): one or more series against a shared x axis. */
public final class Plot {
    private record Series(String name, double[] x, double[] y, Color color) {
    }

    private static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c),
        new Color(0xff7f0e), new Color(0x9467bd)};

    private final String title;
    private final String xLabel;
    private final List<Series> series = new ArrayList<>();

    public Plot(String title, String xLabel) {
        this.title = title;
        this.xLabel = xLabel;
    }

    public Plot line(String name, double[] x, double[] y) {
        series.add(new Series(name, x, y, COLORS[series.size() % COLORS.length]));
        return this;
    }

    public void write(Path file) throws IOException {
        System.setProperty("java.awt.headless", "true");
        int w = 800;
        int h = 450;
        int left = 70;
        int right = 20;
        int top = 40;
        int bottom = 50;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        double x0 = Double.POSITIVE_INFINITY;
        double x1 = Double.NEGATIVE_INFINITY;
        double y0 = Double.POSITIVE_INFINITY;
        double y1 = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (int i = 0; i < s.x.length; i++) {
                if (Double.isFinite(s.y[i])) {
                    x0 = Math.min(x0, s.x[i]);
                    x1 = Math.max(x1, s.x[i]);
                    y0 = Math.min(y0, s.y[i]);
                    y1 = Math.max(y1, s.y[i]);
                }
            }
        }
        if (!Double.isFinite(x0)) {
            x0 = 0;
            x1 = 1;
            y0 = 0;
            y1 = 1;
        }
        if (x1 == x0) {
            x1 = x0 + 1;
        }
        if (y1 == y0) {
            y1 = y0 + 1;
        }
        double pad = (y1 - y0) * 0.05;
        y0 -= pad;
        y1 += pad;
        int pw = w - left - right;
        int ph = h - top - bottom;
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.setColor(new Color(0xdddddd));
        for (int i = 0; i <= 5; i++) {
            int yy = top + ph - i * ph / 5;
            g.drawLine(left, yy, left + pw, yy);
        }
        g.setColor(Color.DARK_GRAY);
        g.drawRect(left, top, pw, ph);
        for (int i = 0; i <= 5; i++) {
            double v = y0 + (y1 - y0) * i / 5;
            int yy = top + ph - i * ph / 5;
            g.drawString(String.format(Locale.ROOT, "%.3g", v), 5, yy + 4);
            double xv = x0 + (x1 - x0) * i / 5;
            int xx = left + i * pw / 5;
            g.drawString(String.format(Locale.ROOT, "%.0f", xv), xx - 10, top + ph + 18);
        }
        g.drawString(xLabel, left + pw / 2 - 20, h - 10);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.drawString(title, left, 25);
        g.setStroke(new BasicStroke(2f));
        int legendY = top + 15;
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        for (Series s : series) {
            g.setColor(s.color);
            int px = -1;
            int py = -1;
            for (int i = 0; i < s.x.length; i++) {
                if (!Double.isFinite(s.y[i])) {
                    continue;
                }
                int xx = left + (int) Math.round((s.x[i] - x0) / (x1 - x0) * pw);
                int yy = top + ph - (int) Math.round((s.y[i] - y0) / (y1 - y0) * ph);
                if (px >= 0) {
                    g.drawLine(px, py, xx, yy);
                } else if (s.x.length == 1) {
                    g.fillOval(xx - 3, yy - 3, 6, 6);
                }
                px = xx;
                py = yy;
            }
            g.drawLine(left + pw - 170, legendY - 4, left + pw - 150, legendY - 4);
            g.drawString(s.name, left + pw - 145, legendY);
            legendY += 16;
        }
        g.dispose();
        Files.createDirectories(file.toAbsolutePath().getParent());
        ImageIO.write(img, "png", file.toFile());
    }
}
