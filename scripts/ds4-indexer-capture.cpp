// The lightning indexer's choices of a deepseek4 model as llama.cpp makes them, for teacher-forced tests (issue 19).
// Own code against llama.cpp's public API (llama.h, ggml.h), like ../shared/tools/oracle; compile against a CPU build L:
//   g++ -std=c++17 -O2 -I$L/include -I$L/ggml/include ds4-indexer-capture.cpp -o ds4-indexer-capture \
//       -L$L/build/bin -lllama -lggml -lggml-base -Wl,-rpath,$L/build/bin
// Usage: ds4-indexer-capture MODEL.gguf OUT.txt id id ...   — one batch (positions 0..n-1, every row's logits, F32
// cache, no flash attention, 1 thread, as the oracle records), capturing each CSA layer's top-k tensor (lid_top_k-L).
// OUT.txt: per captured tensor a line "layer L k K", then one line per position with its K chosen block indices.
#include "ggml-backend.h"
#include "ggml.h"
#include "llama.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

static FILE * out;

static bool capture(ggml_tensor * t, bool ask, void *) {
    // "lid_top_k-L", not its views ("lid_top_k-L (view)").
    bool want = strncmp(t->name, "lid_top_k-", 10) == 0 && strchr(t->name, ' ') == nullptr;
    if (ask || !want) {
        return want || !ask;
    }
    std::vector<uint8_t> raw(ggml_nbytes(t));
    ggml_backend_tensor_get(t, raw.data(), 0, raw.size());
    fprintf(out, "layer %s k %lld\n", t->name + 10, (long long) t->ne[0]);
    for (int64_t i1 = 0; i1 < t->ne[1]; i1++) {
        for (int64_t i0 = 0; i0 < t->ne[0]; i0++) {
            fprintf(out, i0 ? " %d" : "%d", *(int32_t *) (raw.data() + i0 * t->nb[0] + i1 * t->nb[1]));
        }
        fprintf(out, "\n");
    }
    return true;
}

int main(int argc, char ** argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL.gguf OUT.txt id...\n", argv[0]);
        return 2;
    }
    llama_backend_init();
    llama_model * model = llama_model_load_from_file(argv[1], llama_model_default_params());
    if (!model) {
        fprintf(stderr, "cannot load %s\n", argv[1]);
        return 1;
    }
    out = fopen(argv[2], "w");
    int n = argc - 3;
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = cp.n_batch = cp.n_ubatch = (n + 255) / 256 * 256;
    cp.n_seq_max = 1;
    cp.n_threads = cp.n_threads_batch = 1;
    cp.type_k = cp.type_v = GGML_TYPE_F32;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.cb_eval = capture;
    llama_context * ctx = llama_init_from_model(model, cp);
    llama_batch b = llama_batch_init(n, 0, 1);
    for (int i = 0; i < n; i++) {
        b.token[i] = atoi(argv[3 + i]);
        b.pos[i] = i;
        b.n_seq_id[i] = 1;
        b.seq_id[i][0] = 0;
        b.logits[i] = 1;
    }
    b.n_tokens = n;
    if (llama_decode(ctx, b) != 0) {
        fprintf(stderr, "llama_decode failed\n");
        return 1;
    }
    llama_batch_free(b);
    fclose(out);
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
