package io.jseek.train;

import io.jseek.core.JseekException;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/**
 * A training run's state on disk: the model's configuration, every parameter and selection bias, the
 * optimizer's moments and step, and the run's own counters. Written to {@code NAME.tmp} and renamed over
 * {@code NAME} only when complete, so an interrupted save never destroys the previous checkpoint.
 */
public final class Checkpoint {
    private static final int MAGIC = 0x4a534b54; // "JSKT"
    private static final int VERSION = 1;

    private Checkpoint() {
    }

    /** What a checkpoint holds besides the model and optimizer: the phase and its step, free-form counters. */
    public record Info(String phase, int step, Map<String, Long> counters) {
    }

    public static void save(Path file, TrainableDeepSeek model, AdamW optimizer, Info info) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16))) {
            out.writeInt(MAGIC);
            out.writeInt(VERSION);
            TrainableDeepSeek.Config c = model.config();
            int[] ints = {c.vocab(), c.embd(), c.layers(), c.heads(), c.kvLora(), c.nope(), c.rot(), c.vHead(), c.ff(),
                    c.denseLead(), c.experts(), c.expertsUsed(), c.expertFf(), c.sharedExperts(), c.contextLength()};
            for (int i : ints) {
                out.writeInt(i);
            }
            out.writeDouble(c.ropeBase());
            out.writeDouble(c.eps());
            out.writeDouble(c.biasRate());
            out.writeUTF(info.phase());
            out.writeInt(info.step());
            out.writeInt(info.counters().size());
            for (var e : info.counters().entrySet()) {
                out.writeUTF(e.getKey());
                out.writeLong(e.getValue());
            }
            for (Var p : model.parameters()) {
                out.writeUTF(p.name);
                writeArray(out, p.v);
            }
            for (int l : model.moeLayers()) {
                writeArray(out, model.selectionBias(l));
            }
            out.writeBoolean(optimizer != null);
            if (optimizer != null) {
                optimizer.save(out);
            }
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** A loaded checkpoint: the model, the optimizer state to resume (null if none was saved), the info. */
    public record Loaded(TrainableDeepSeek model, AdamW.State optimizer, Info info) {
    }

    public static Loaded load(Path file) throws IOException {
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
            if (in.readInt() != MAGIC) {
                throw new JseekException(file + " is not a jseek training checkpoint");
            }
            int version = in.readInt();
            if (version != VERSION) {
                throw new JseekException(file + ": checkpoint version " + version + " is not supported (" + VERSION + ")");
            }
            int[] i = new int[15];
            for (int k = 0; k < i.length; k++) {
                i[k] = in.readInt();
            }
            double base = in.readDouble();
            double eps = in.readDouble();
            double biasRate = in.readDouble();
            var c = new TrainableDeepSeek.Config(i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7], i[8], i[9], i[10], i[11],
                    i[12], i[13], base, eps, i[14], biasRate);
            String phase = in.readUTF();
            int step = in.readInt();
            int n = in.readInt();
            Map<String, Long> counters = new java.util.LinkedHashMap<>();
            for (int k = 0; k < n; k++) {
                counters.put(in.readUTF(), in.readLong());
            }
            TrainableDeepSeek m = new TrainableDeepSeek(c, 0);
            for (Var p : m.parameters()) {
                String name = in.readUTF();
                if (!name.equals(p.name)) {
                    throw new JseekException(file + ": expected parameter " + p.name + ", found " + name);
                }
                readArray(in, p.v, file, name);
            }
            for (int l : m.moeLayers()) {
                readArray(in, m.selectionBias(l), file, "selection bias of layer " + l);
            }
            AdamW.State opt = in.readBoolean() ? AdamW.State.read(in, m.parameters()) : null;
            return new Loaded(m, opt, new Info(phase, step, counters));
        } catch (EOFException e) {
            throw new JseekException(file + " is truncated", e);
        }
    }

    private static void writeArray(DataOutputStream out, double[] v) throws IOException {
        out.writeInt(v.length);
        for (double d : v) {
            out.writeDouble(d);
        }
    }

    private static void readArray(DataInputStream in, double[] into, Path file, String what) throws IOException {
        int n = in.readInt();
        if (n != into.length) {
            throw new JseekException(file + ": " + what + " has " + n + " values, the model needs " + into.length);
        }
        for (int k = 0; k < n; k++) {
            into[k] = in.readDouble();
        }
    }
}
