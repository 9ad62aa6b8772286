package io.jseek.cli;

import io.jseek.core.JseekException;
import io.jseek.model.ModelFiles;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.model.Model;
import io.jseek.model.Session;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code jseek logits}: raw logits for a token sequence, for comparing with other engines. */
@Command(name = "logits", mixinStandardHelpOptions = true,
        description = {"Feed token ids to the model and write the logits after every position as raw "
                + "little-endian float32 rows of n_vocab values (the layout of llama.cpp dumps in testdata/).", "",
            "The ids go in as one batch, or one at a time through the KV cache with --step."})
final class LogitsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption modelOption;

    @Mixin
    ThreadsOption threadsOption;

    @Option(names = "--tokens", required = true, paramLabel = "IDS", description = "Comma-separated token ids, e.g. 956,72,101.")
    String tokens;

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "FILE", description = "Where to write the float32 rows.")
    Path out;

    @Option(names = "--step", description = "Feed one token at a time instead of one batch.")
    boolean step;

    @Override
    public Integer call() throws IOException {
        int[] ids = parseIds(tokens);
        try (ModelFiles file = ModelFiles.open(modelOption.resolve()); WorkerPool pool = threadsOption.pool()) {
            Model model = file.load(pool);
            Session s = model.newSession(ids.length);
            Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
            int vocab = 0;
            try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
                if (step) {
                    for (int id : ids) {
                        vocab = write(os, model.forward(s, new int[] {id}, false));
                    }
                } else {
                    vocab = write(os, model.forward(s, ids, true));
                }
            } catch (IOException | RuntimeException e) {
                Files.deleteIfExists(tmp);
                throw e;
            }
            Files.move(tmp, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            PrintWriter err = spec.commandLine().getErr();
            err.printf("wrote %d rows of %d logits to %s%n", ids.length, vocab, out);
        }
        return 0;
    }

    static int[] parseIds(String list) {
        String[] parts = list.split(",");
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts[i].strip());
            } catch (NumberFormatException e) {
                throw new JseekException("--tokens: \"" + parts[i].strip() + "\" is not a token id");
            }
        }
        return ids;
    }

    private static int write(OutputStream os, float[][] rows) throws IOException {
        for (float[] row : rows) {
            ByteBuffer b = ByteBuffer.allocate(row.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(row);
            os.write(b.array());
        }
        return rows.length == 0 ? 0 : rows[0].length;
    }
}
