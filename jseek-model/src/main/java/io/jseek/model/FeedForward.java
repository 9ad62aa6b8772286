package io.jseek.model;

import io.jseek.core.kernel.MatMul;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tensor.Matrix;

/** The second half of a DeepSeek layer (docs/deepseek.md §3.1): a dense SwiGLU MLP or {@link DeepSeekMoe}. */
interface FeedForward {
    /** The FFN of the batch's rows {@code x} (already normed) into {@code out}. */
    void forward(Batch batch, float[][] x, int t, Scratch s, float[][] out);

    /** One workspace's buffers for a batch of up to t tokens; {@code moe} null for a model without MoE. */
    final class Scratch {
        final float[][] g;
        final float[][] u;
        final MatMul.Products products = new MatMul.Products(2);
        final DeepSeekMoe.Scratch moe;

        Scratch(ModelConfig c, int t) {
            ModelConfig.Moe m = c.moe();
            int width = c.feedForwardLength();
            if (m != null) {
                width = Math.max(width, m.expertFeedForwardLength() * Math.max(1, m.expertSharedCount()));
            }
            g = new float[t][width];
            u = new float[t][width];
            moe = m == null ? null : new DeepSeekMoe.Scratch(c, t);
        }
    }

    /** {@code down · (silu(gate · x) ⊙ (up · x))}, hidden width {@code width}. */
    record Dense(WorkerPool pool, Matrix gate, Matrix up, Matrix down, int width) implements FeedForward {
        static Dense load(Weights w, WorkerPool pool, String prefix, int embd, int width) {
            return new Dense(pool, w.matrix(prefix + "ffn_gate.weight", embd, width),
                    w.matrix(prefix + "ffn_up.weight", embd, width), w.matrix(prefix + "ffn_down.weight", width, embd), width);
        }

        @Override
        public void forward(Batch batch, float[][] x, int t, Scratch s, float[][] out) {
            Blocks.swiglu(pool, s.products, gate, up, down, width, x, t, s.g, s.u, out);
        }
    }
}
