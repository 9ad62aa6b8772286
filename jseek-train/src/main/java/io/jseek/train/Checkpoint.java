package io.jseek.train;

import io.jseek.core.JseekException;
import io.jseek.model.Architecture;
import io.jseek.model.ModelConfig;
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
    /** 2: the engine's ModelConfig (1: the trainer's own shape record, still read). */
    /** 3: a CRC-32 of everything before it ends the file (1 and 2, without one, are still read). */
    private static final int VERSION = 4;

    private Checkpoint() {
    }

    /** What a checkpoint holds besides the model and optimizer: the phase and its step, free-form counters. */
    public record Info(String phase, int step, Map<String, Long> counters) {
    }

    public static void save(Path file, TrainableDeepSeek model, AdamW optimizer, Info info) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        try (BufferedOutputStream raw = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16);
             DataOutputStream out = new DataOutputStream(new java.util.zip.CheckedOutputStream(raw, crc))) {
            out.writeInt(MAGIC);
            out.writeInt(VERSION);
            writeConfig(out, model.config());
            out.writeDouble(model.biasRate());
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
            out.flush();
            new DataOutputStream(raw).writeLong(crc.getValue());
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** A loaded checkpoint: the model, the optimizer state to resume (null if none was saved), the info. */
    public record Loaded(TrainableDeepSeek model, AdamW.State optimizer, Info info) {
    }

    public static Loaded load(Path file) throws IOException {
        verifyChecksum(file);
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
            if (in.readInt() != MAGIC) {
                throw new JseekException(file + " is not a jseek training checkpoint");
            }
            int version = in.readInt();
            if (version < 1 || version > VERSION) {
                throw new JseekException(file + ": checkpoint version " + version + " is not supported (" + VERSION + ")");
            }
            ModelConfig c;
            double biasRate;
            if (version == 1) {
                int[] i = new int[15];
                for (int k = 0; k < i.length; k++) {
                    i[k] = in.readInt();
                }
                double base = in.readDouble();
                double eps = in.readDouble();
                biasRate = in.readDouble();
                try {
                    c = new TrainableDeepSeek.Config(i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7], i[8], i[9], i[10],
                            i[11], i[12], i[13], base, eps, i[14], biasRate).toModelConfig();
                } catch (IllegalArgumentException | ArithmeticException e) {
                    throw new JseekException(file + ": invalid model config: " + e.getMessage(), e);
                }
            } else {
                c = readConfig(in, file, version);
                biasRate = in.readDouble();
            }
            if (!Double.isFinite(biasRate)) {
                throw new JseekException(file + ": the bias update rate is " + biasRate + ": the checkpoint is corrupted");
            }
            String phase = in.readUTF();
            int step = in.readInt();
            int n = in.readInt();
            Map<String, Long> counters = new java.util.LinkedHashMap<>();
            for (int k = 0; k < n; k++) {
                counters.put(in.readUTF(), in.readLong());
            }
            requireFits(file, c, Files.size(file));
            TrainableDeepSeek m = new TrainableDeepSeek(c, biasRate, 0);
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
        } catch (java.io.UTFDataFormatException e) {
            throw new JseekException(file + ": a parameter name is not valid text: the checkpoint is corrupted", e);
        }
    }

    /**
     * For version 3 and later files: the CRC-32 of everything before the last 8 bytes must equal them, so a corrupted or cut
     * checkpoint is refused before anything is read from it (or trained on).
     */
    private static void verifyChecksum(Path file) throws IOException {
        long size = Files.size(file);
        try (DataInputStream head = new DataInputStream(Files.newInputStream(file))) {
            if (size < 8 || head.readInt() != MAGIC || head.readInt() < 3) {
                return;  // not a checkpoint (load says so), or a version without a checksum
            }
        }
        if (size < 16) {
            throw new JseekException(file + " is truncated");
        }
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        long stored;
        try (java.io.InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            byte[] buf = new byte[1 << 16];
            long left = size - 8;
            while (left > 0) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (n < 0) {
                    throw new JseekException(file + " is truncated");
                }
                crc.update(buf, 0, n);
                left -= n;
            }
            stored = new DataInputStream(in).readLong();
        }
        if (stored != crc.getValue()) {
            throw new JseekException(file + ": the checksum does not match: the checkpoint is truncated or corrupted");
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
            double v = in.readDouble();
            if (!Double.isFinite(v)) {
                throw new JseekException(file + ": " + what + " holds " + v + " at index " + k
                        + ": the checkpoint is corrupted (training would go on with NaN loss)");
            }
            into[k] = v;
        }
    }

    /** The fields of a config the trainer can build (deepseek2, MLA, optional MoE). */
    private static void writeConfig(DataOutputStream out, ModelConfig c) throws IOException {
        ModelConfig.Mla a = c.mla();
        ModelConfig.RopeScaling r = c.ropeScaling();
        out.writeUTF(c.name());
        for (int i : new int[] {c.blockCount(), c.contextLength(), c.embeddingLength(), c.feedForwardLength(),
                c.headCount(), c.headCountKv(), c.keyLength(), c.valueLength(), c.ropeDimensionCount(), c.vocabSize(),
                a.qLoraRank(), a.kvLoraRank(), a.qkNopeHeadDim(), a.qkRopeHeadDim(), a.vHeadDim(), r.type().ordinal(),
                r.originalContextLength()}) {
            out.writeInt(i);
        }
        out.writeFloat(c.rmsNormEps());
        out.writeFloat(c.ropeFreqBase());
        out.writeFloat(r.factor());
        out.writeFloat(r.yarnLogMultiplier());
        ModelConfig.Moe m = c.moe();
        out.writeBoolean(m != null);
        if (m != null) {
            for (int i : new int[] {m.leadingDenseBlockCount(), m.expertCount(), m.expertUsedCount(),
                    m.expertSharedCount(), m.expertFeedForwardLength(), m.groupCount(), m.groupUsedCount(),
                    m.gating().ordinal()}) {
                out.writeInt(i);
            }
            out.writeFloat(m.weightsScale());
            out.writeBoolean(m.weightsNorm());
        }
        out.writeInt(c.nextnLayers());
    }

    /** Versions 2 and 3 have no MTP block count (0). */
    private static ModelConfig readConfig(DataInputStream in, Path file, int version) throws IOException {
        String name = in.readUTF();
        int[] i = new int[17];
        for (int k = 0; k < i.length; k++) {
            i[k] = in.readInt();
        }
        float eps = in.readFloat();
        float base = in.readFloat();
        var scaling = new ModelConfig.RopeScaling(ordinal(ModelConfig.RopeScaling.Type.values(), i[15], file, "rope scaling"),
                in.readFloat(), i[16], in.readFloat());
        boolean hasMoe = in.readBoolean();
        int[] m = new int[8];
        float weightsScale = 0;
        boolean weightsNorm = false;
        if (hasMoe) {
            for (int k = 0; k < m.length; k++) {
                m[k] = in.readInt();
            }
            weightsScale = in.readFloat();
            weightsNorm = in.readBoolean();
        }
        int nextn = version >= 4 ? in.readInt() : 0;
        for (int k = 0; k < 15; k++) {
            if (i[k] < 0) {
                throw new JseekException(file + ": the model config holds a negative size (" + i[k] + ")");
            }
        }
        try {
            ModelConfig.Moe moe = !hasMoe ? null : new ModelConfig.Moe(m[0], m[1], m[2], m[3], m[4], m[5], m[6],
                    weightsScale, weightsNorm, ordinal(ModelConfig.Moe.Gating.values(), m[7], file, "gating"));
            return new ModelConfig(Architecture.DEEPSEEK2, name, i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7], eps,
                    base, i[8], scaling, i[9], new ModelConfig.Mla(i[10], i[11], i[12], i[13], i[14], true), moe, null, nextn);
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new JseekException(file + ": invalid model config: " + e.getMessage(), e);
        }
    }

    private static <E extends Enum<E>> E ordinal(E[] values, int i, Path file, String what) {
        if (i < 0 || i >= values.length) {
            throw new JseekException(file + ": unknown " + what + " " + i + " in the model config");
        }
        return values[i];
    }

    /**
     * Refuses a config whose parameters the file cannot hold (8 bytes a value), before anything is allocated: a
     * corrupted or forged size (blocks, vocabulary, experts, widths) would otherwise allocate gigabytes, or overflow.
     */
    static void requireFits(Path file, ModelConfig c, long fileBytes) {
        // Every block stores at least 7 named arrays (~30 bytes each with its name and length) before any value.
        if (c.blockCount() < 1 || (long) c.blockCount() * 200 > fileBytes || (long) c.vocabSize() * 8 > fileBytes) {
            throw new JseekException(file + ": its config declares " + c.blockCount() + " blocks and a vocabulary of "
                    + c.vocabSize() + ", more than its " + fileBytes + " bytes can hold");
        }
        long values = 0;
        for (TrainableDeepSeek.Param p : TrainableDeepSeek.layout(c)) {
            if (p.rows() < 1 || p.cols() < 1 || p.rows() > Integer.MAX_VALUE || p.cols() > Integer.MAX_VALUE
                    || p.size() > Integer.MAX_VALUE - 8) {
                throw new JseekException(file + ": parameter " + p.name() + " would be " + p.rows() + " × " + p.cols()
                        + ": the model config is corrupted");
            }
            values += p.size();
            if (values > fileBytes / 8) {
                throw new JseekException(file + ": its config needs more than " + values + " parameters, more than its "
                        + fileBytes + " bytes can hold: the model config is corrupted");
            }
        }
    }
}
