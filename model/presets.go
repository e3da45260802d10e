package model

import (
	"sort"
	"strings"
)

// Citations shared by several presets. Each preset's Source names the paper
// (or repository file) and the table its shape was read from.
const (
	srcGPT3 = "Brown et al. 2020 'Language Models are Few-Shot Learners', Table 2.1 (layers, d_model, heads, d_head; n_ctx 2048 for all sizes)"
	// The GPT-2 BPE vocabulary has 50257 tokens; Megatron-LM pads it to a
	// multiple of 128 × TP (51200 for TP 8), which is what the SC21 and
	// Korthikanti et al. FLOP and parameter formulas use.
	vocabNote = "vocab 51200 = GPT-2 BPE 50257 padded by Megatron-LM"
	srcSC21T1 = "Narayanan et al. 2021 (SC21) 'Efficient Large-Scale Language Model Training on GPU Clusters Using Megatron-LM', Table 1 (layers, hidden, heads, params); seq 2048, " + vocabNote
	srcMcore  = "NVIDIA/Megatron-LM README 'Performance Benchmarking', images/model_table.png (2024-07-15, commit f2e5db402c; H100 weak-scaling table): layers, hidden, heads; 'vocabulary size 131,072', 'sequence length 4096'. " +
		"The table's parameter counts imply GPT blocks (ffn 4h, no GQA) with untied input/output embeddings, which Config does not model (the output layer's V×h is missing from Params)"
	srcOPT    = "Zhang et al. 2022 'OPT: Open Pre-trained Transformer Language Models', Table 1 (layers, heads, d_model; ffn 4h) and Section 2 (sequence length 2048); vocab 50272 from the released facebook/opt config.json"
	srcLlama3 = "Dubey et al. 2024 'The Llama 3 Herd of Models', Table 3 (layers, model dim, FFN dim, heads, KV heads; SwiGLU; pre-training context 8192). " +
		"Vocab 128256 = the 128K tokenizer (128000) + 256 reserved special tokens, as in the released config.json. No biases, untied output layer, rotary positions, no dropout (the Config zero values)"
)

// srcMegatronGPT cites the training properties a GPT model gets from
// Megatron-LM's defaults, which the GPT presets' runs (SC21, Korthikanti
// et al., the README tables, NeMo) keep.
const srcMegatronGPT = "Megatron-LM defaults (megatron/training/arguments.py): --attention-dropout 0.1, --hidden-dropout 0.1, " +
	"--position-embedding-type learned_absolute, the output layer tied to the embedding unless --untie-embeddings-and-output-weights"

// gpt is a GPT-style block: ffn = 4h, no grouped-query attention, two MLP
// matrices, linear biases, with Megatron-LM's default training properties
// (srcMegatronGPT): dropout 0.1 on the attention probabilities and the
// hidden states, a learned absolute position table and a tied output layer.
// Presets whose source says otherwise override them.
func gpt(name string, layers, hidden, heads, seq, vocab int, source string) Config {
	return Config{
		Name: name, Layers: layers, Hidden: hidden, Heads: heads, KVHeads: heads,
		FFNHidden: 4 * hidden, SeqLen: seq, Vocab: vocab, LinearBias: true,
		AttnDropout: 0.1, HiddenDropout: 0.1, Position: PositionLearned, TiedEmbeddings: true,
		Source: source + ". Dropout, positions, tied output: " + srcMegatronGPT,
	}
}

// untied is c with an output layer of its own (the README 2024 table's
// parameter counts, srcMcore).
func untied(c Config) Config {
	c.TiedEmbeddings = false
	c.Source += "; untied here: the table's parameter counts"
	return c
}

// alibi is c with BLOOM's ALiBi positions (no table) and its released
// dropout (bigscience/bloom config.json: "attention_dropout": 0.0,
// "hidden_dropout": 0.0); the output layer stays tied to the embedding.
func alibi(c Config) Config {
	c.Position, c.AttnDropout, c.HiddenDropout = PositionALiBi, 0, 0
	c.Source = c.Source[:strings.Index(c.Source, ". Dropout, positions")] +
		". ALiBi positions, no dropout, tied output layer: the released bigscience/bloom config.json"
	return c
}

// unstated is c with a relative position encoding (no absolute table) and
// no dropout or tied output priced, where the source states neither.
func unstated(c Config) Config {
	c.Position, c.AttnDropout, c.HiddenDropout, c.TiedEmbeddings = PositionNone, 0, 0, false
	c.Source = c.Source[:strings.Index(c.Source, ". Dropout, positions")] +
		". Relative positions (no absolute table); dropout and a tied output layer are not stated, so not priced"
	return c
}

// opt is c with OPT's released dropout (facebook/opt-* config.json:
// "dropout": 0.1, "attention_dropout": 0.0; learned positions, the LM head
// tied to embed_tokens).
func opt(c Config) Config {
	c.AttnDropout = 0
	c.Source = c.Source[:strings.Index(c.Source, ". Dropout, positions")] +
		". Dropout 0.1, attention dropout 0.0, learned positions, tied output layer: the released facebook/opt config.json"
	return c
}

// table returns a fresh copy of every built-in model. Keeping it a function
// (rather than a package-level map) means callers can never change what the
// next caller gets.
func table() []Config {
	return []Config{
		// GPT-3 family (Brown et al. 2020, Table 2.1). The paper lists
		// n_params, n_layers, d_model, n_heads, d_head; two rows are not
		// self-consistent (d_model ≠ n_heads × d_head) and are fixed as noted.
		gpt("gpt3-125m", 12, 768, 12, 2048, 51200, srcGPT3+" (GPT-3 Small); "+vocabNote),
		gpt("gpt3-350m", 24, 1024, 16, 2048, 51200, srcGPT3+" (GPT-3 Medium); "+vocabNote),
		gpt("gpt3-760m", 24, 1536, 16, 2048, 51200, srcGPT3+" (GPT-3 Large); "+vocabNote),
		gpt("gpt3-1.3b", 24, 2048, 16, 2048, 51200, srcGPT3+" (GPT-3 XL). The table lists 24 heads of d_head 128, "+
			"but 2048 is not divisible by 24; 16 heads (2048/128, keeping the listed d_head) as in Megatron-LM/NeMo 1.3B configs; "+vocabNote),
		gpt("gpt3-2.7b", 32, 2560, 32, 2048, 51200, srcGPT3+" (GPT-3 2.7B); "+vocabNote),
		gpt("gpt3-6.7b", 32, 4096, 32, 2048, 51200, srcGPT3+" (GPT-3 6.7B); "+vocabNote),
		gpt("gpt3-13b", 40, 5120, 40, 2048, 51200, srcGPT3+" (GPT-3 13B). The table lists d_model 5140, which is not divisible by its "+
			"40 heads; 5120 = 40 × d_head 128 (the listed d_head) is the width Megatron-LM and NeMo use for GPT-3 13B; "+vocabNote),
		gpt("gpt3-175b", 96, 12288, 96, 2048, 51200, srcGPT3+" (GPT-3 175B; 174.6B params per Narayanan et al. 2021, Table 2); "+vocabNote),

		// Narayanan et al. 2021 (SC21), Table 1: the weak-scaling family, also
		// in NVIDIA/Megatron-LM images/cases_april2021.png.
		gpt("gpt-1.7b", 24, 2304, 24, 2048, 51200, srcSC21T1+" (1.7B row)"),
		gpt("gpt-3.6b", 30, 3072, 32, 2048, 51200, srcSC21T1+" (3.6B row)"),
		gpt("gpt-7.5b", 36, 4096, 32, 2048, 51200, srcSC21T1+" (7.5B row)"),
		gpt("gpt-18.4b", 40, 6144, 48, 2048, 51200, srcSC21T1+" (18.4B row)"),
		gpt("gpt-39.1b", 48, 8192, 64, 2048, 51200, srcSC21T1+" (39.1B row)"),
		gpt("gpt-76.1b", 60, 10240, 80, 2048, 51200, srcSC21T1+" (76.1B row)"),
		gpt("gpt-145.6b", 80, 12288, 96, 2048, 51200, srcSC21T1+" (145.6B row)"),
		gpt("gpt-310.1b", 96, 16384, 128, 2048, 51200, srcSC21T1+" (310.1B row)"),
		gpt("gpt-529.6b", 105, 20480, 128, 2048, 51200, srcSC21T1+" (529.6B row; the MT-NLG shape, see mt-nlg-530b)"),
		gpt("gpt-1t", 128, 25600, 160, 2048, 51200, srcSC21T1+" (1008.0B row); the same shape is the 1T model of Korthikanti et al. 2022, Table 3"),
		// The January 2021 README table has a 290.8B row in place of 310.1B.
		gpt("gpt-290.8b", 90, 16384, 128, 2048, 51200, "NVIDIA/Megatron-LM images/cases_jan2021.png (README at commit 152aab304d, 2021-01-11), 290.8B row: "+
			"layers, hidden, heads; seq 2048, "+vocabNote),
		// Korthikanti et al. 2022, Table 3: the 22B model (175B, 530B and 1T
		// are gpt3-175b, gpt-529.6b / mt-nlg-530b and gpt-1t).
		gpt("gpt-22b", 48, 6144, 64, 2048, 51200, "Korthikanti et al. 2022 'Reducing Activation Recomputation in Large Transformer Models', Table 3 (22B: "+
			"layers, hidden, heads, seq 2048); "+vocabNote),

		// Megatron-Core H100 weak-scaling table (2024).
		untied(gpt("megatron-h100-1.7b", 24, 2048, 16, 4096, 131072, srcMcore+" (1.7B row)")),
		untied(gpt("megatron-h100-7.1b", 30, 4096, 32, 4096, 131072, srcMcore+" (7.1B row)")),
		untied(gpt("megatron-h100-16b", 32, 6144, 48, 4096, 131072, srcMcore+" (16B row)")),
		untied(gpt("megatron-h100-32b", 48, 7168, 56, 4096, 131072, srcMcore+" (32B row)")),
		untied(gpt("megatron-h100-70b", 84, 8192, 64, 4096, 131072, srcMcore+" (70B row)")),
		untied(gpt("megatron-h100-119b", 92, 10240, 80, 4096, 131072, srcMcore+" (119B row)")),
		untied(gpt("megatron-h100-177b", 96, 12288, 96, 4096, 131072, srcMcore+" (177B row: the GPT-3 shape with the larger vocabulary)")),
		untied(gpt("megatron-h100-314b", 96, 16384, 128, 4096, 131072, srcMcore+" (314B row)")),
		untied(gpt("megatron-h100-462b", 112, 18432, 144, 4096, 131072, srcMcore+" (462B row)")),

		// Well-known dense models.
		opt(gpt("opt-175b", 96, 12288, 96, 2048, 50272, "Zhang et al. 2022 'OPT: Open Pre-trained Transformer Language Models', Table 1 (175B: 96 layers, "+
			"96 heads, d_model 12288) and Section 2 (sequence length 2048); vocab 50272 from the released facebook/opt config.json")),
		opt(gpt("opt-350m", 24, 1024, 16, 2048, 50272, srcOPT+" (350M: 24 layers, 16 heads, d_model 1024). Its 512-wide embedding with in/out projections is not modelled")),
		opt(gpt("opt-13b", 40, 5120, 40, 2048, 50272, srcOPT+" (13B: 40 layers, 40 heads, d_model 5120)")),
		opt(gpt("opt-30b", 48, 7168, 56, 2048, 50272, srcOPT+" (30B: 48 layers, 56 heads, d_model 7168)")),
		opt(gpt("opt-66b", 64, 9216, 72, 2048, 50272, srcOPT+" (66B: 64 layers, 72 heads, d_model 9216)")),
		alibi(gpt("bloom-176b", 70, 14336, 112, 2048, 250880, "BigScience 2022 'BLOOM: A 176B-Parameter Open-Access Multilingual Language Model', "+
			"Table 3 (70 layers, hidden 14336, 112 heads, sequence length 2048) and Section 3.3 (vocabulary 250680, padded to 250880 in the released config). "+
			"The embedding layer norm is not modelled")),
		unstated(gpt("gopher-280b", 80, 16384, 128, 2048, 32000, "Rae et al. 2021 'Scaling Language Models: Methods, Analysis & Insights from Training Gopher', "+
			"Table 1 (80 layers, 128 heads, key/value size 128, d_model 16384) and Section 3.1 (SentencePiece vocab 32000, 2048-token context). "+
			"Its Transformer-XL relative position encoding adds an h×h projection per layer (≈21.5B of the 280B) that Config does not model")),
		gpt("mt-nlg-530b", 105, 20480, 128, 2048, 51200, "Smith et al. 2022 'Using DeepSpeed and Megatron to Train Megatron-Turing NLG 530B', "+
			"model-configuration section (105 layers, hidden 20480, 128 heads, sequence length 2048, GPT-2 BPE tokenizer); "+vocabNote),
		{
			Name: "palm-540b", Layers: 118, Hidden: 18432, Heads: 48, KVHeads: 1, FFNHidden: 4 * 18432,
			SeqLen: 2048, Vocab: 256000, GatedMLP: true, HeadSize: 256,
			Source: "Chowdhery et al. 2022 'PaLM: Scaling Language Modeling with Pathways', Table 1 (118 layers, 48 heads, d_model 18432, " +
				"d_ff = 4 × d_model, head size 256) and Section 2 (SwiGLU, multi-query attention, 256k SentencePiece vocab, sequence length 2048). " +
				"PaLM's attention width (48 × 256 = 12288) is not d_model: head_dim 256. Parallel attention/MLP layers and no biases are not modelled",
		},
		{
			Name: "lamda-137b", Layers: 64, Hidden: 8192, Heads: 128, KVHeads: 128, FFNHidden: 65536,
			SeqLen: 2048, Vocab: 32000, GatedMLP: true, HeadSize: 128,
			Source: "Thoppilan et al. 2022 'LaMDA: Language Models for Dialog Applications', Section 3, pre-training (64 layers, d_model 8192, d_ff 65536, " +
				"128 heads, d_k = d_v = 128, gated-GELU, T5-style relative attention, SentencePiece vocab 32K; 137B non-embedding params). " +
				"The paper does not state the pre-training sequence length: 2048 is assumed. Its attention width (128 × 128 = 16384) is twice d_model: head_dim 128",
		},
		gpt("turing-nlg-17b", 78, 4256, 28, 1024, 50257, "Microsoft Research blog 2020-02-10 'Turing-NLG: A 17-billion-parameter language model by Microsoft' "+
			"(78 layers, hidden 4256, 28 heads). Sequence length 1024 and the GPT-2 BPE vocab (50257) are not stated there: assumed, as in the GPT-2 / "+
			"Megatron-LM setup it was trained with"),
		{
			Name: "bert-large", Layers: 24, Hidden: 1024, Heads: 16, KVHeads: 16, FFNHidden: 4096, SeqLen: 512, Vocab: 30522, LinearBias: true,
			AttnDropout: 0.1, HiddenDropout: 0.1, Position: PositionLearned, TiedEmbeddings: true,
			Source: "Devlin et al. 2018 'BERT: Pre-training of Deep Bidirectional Transformers', Section 3 (BERT-LARGE: L=24, H=1024, A=16, " +
				"feed-forward 4H, 340M params, sequences up to 512 tokens); WordPiece vocab 30522 from the released bert-large-uncased config. " +
				"Dropout 0.1 on attention probabilities and hidden states, learned positions, MLM decoder tied to the word embeddings: the released config (attention_probs_dropout_prob, hidden_dropout_prob 0.1, position_embedding_type absolute). Encoder-only: token-type embeddings, the pooler and the MLM head are not modelled",
		},
		{
			Name: "llama2-7b", Layers: 32, Hidden: 4096, Heads: 32, KVHeads: 32, FFNHidden: 11008, SeqLen: 4096, Vocab: 32000, GatedMLP: true,
			Source: "Touvron et al. 2023 'Llama 2: Open Foundation and Fine-Tuned Chat Models', Table 1 (7B: context 4k, no GQA) and Section 2.2 " +
				"(SwiGLU, 32k tokenizer); layers 32, hidden 4096, 32 heads, ffn 11008 from the released config.json. " +
				"No biases, untied output layer, rotary positions, no dropout (the Config zero values)",
		},
		{
			Name: "llama2-13b", Layers: 40, Hidden: 5120, Heads: 40, KVHeads: 40, FFNHidden: 13824, SeqLen: 4096, Vocab: 32000, GatedMLP: true,
			Source: "Touvron et al. 2023 'Llama 2: Open Foundation and Fine-Tuned Chat Models', Table 1 (13B: context 4k, no GQA) and Section 2.2 " +
				"(SwiGLU, 32k tokenizer); layers 40, hidden 5120, 40 heads, ffn 13824 from the released config.json. " +
				"No biases, untied output layer, rotary positions, no dropout (the Config zero values)",
		},
		{
			Name: "llama2-70b", Layers: 80, Hidden: 8192, Heads: 64, KVHeads: 8, FFNHidden: 28672, SeqLen: 4096, Vocab: 32000, GatedMLP: true,
			Source: "Touvron et al. 2023 'Llama 2: Open Foundation and Fine-Tuned Chat Models', Table 1 (70B: context 4k, GQA) and Section 2.2 " +
				"(architecture as Llama 1: SwiGLU, 32k tokenizer); layers 80, hidden 8192, 64 heads, 8 KV heads, ffn 28672 from the released config.json. " +
				"No biases, untied output layer, rotary positions, no dropout (the Config zero values)",
		},
		{
			Name: "llama3-8b", Layers: 32, Hidden: 4096, Heads: 32, KVHeads: 8, FFNHidden: 14336, SeqLen: 8192, Vocab: 128256, GatedMLP: true,
			Source: srcLlama3 + " (8B column)",
		},
		{
			Name: "llama3-70b", Layers: 80, Hidden: 8192, Heads: 64, KVHeads: 8, FFNHidden: 28672, SeqLen: 8192, Vocab: 128256, GatedMLP: true,
			Source: srcLlama3 + " (70B column)",
		},
		{
			Name: "qwen3-32b", Layers: 64, Hidden: 5120, Heads: 64, KVHeads: 8, HeadSize: 128, FFNHidden: 25600, SeqLen: 4096, Vocab: 151936, GatedMLP: true,
			Source: "Qwen Team 2025 'Qwen3 Technical Report' (arXiv 2505.09388), Table 1 (Qwen3-32B: 64 layers, 64 query and 8 KV heads, untied embeddings); " +
				"hidden 5120, head_dim 128 (so the attention is 8192 wide, not h), intermediate 25600 and vocab 151936 from the released Qwen/Qwen3-32B config.json. " +
				"Sequence length 4096 is NeMo-RL's GRPO recipe's, not the model's. No biases; the untied output layer and the QK layer norms are not modelled by Config",
		},
		{
			Name: "llama3-405b", Layers: 126, Hidden: 16384, Heads: 128, KVHeads: 8, FFNHidden: 53248, SeqLen: 8192, Vocab: 128256, GatedMLP: true,
			Source: srcLlama3 + " (405B column)",
		},

		// Mixture-of-experts models. Shapes from the released config.json
		// of each model (the repository and file are named); counts of
		// total and active parameters from the model card or paper, which
		// the preset tests compare Params and ActiveParams with. None ties
		// its output layer to the embedding, and none has biases (except
		// GPT-OSS's attention and experts): Config does not model either.
		{
			Name: "mixtral-8x7b", Layers: 32, Hidden: 4096, Heads: 32, KVHeads: 8, FFNHidden: 14336, SeqLen: 32768, Vocab: 32000, GatedMLP: true,
			Experts: 8, TopK: 2,
			Source: "mistralai/Mixtral-8x7B-v0.1 config.json (num_hidden_layers 32, hidden_size 4096, intermediate_size 14336, 32 heads, 8 KV heads, " +
				"num_local_experts 8, num_experts_per_tok 2, vocab 32000); Jiang et al. 2024 'Mixtral of Experts' arXiv:2401.04088 §2 (SwiGLU experts, " +
				"'context size of 32k tokens', 47B total / 13B active parameters; Mistral AI's release note: 46.7B / 12.9B)",
		},
		{
			Name: "mixtral-8x22b", Layers: 56, Hidden: 6144, Heads: 48, KVHeads: 8, FFNHidden: 16384, SeqLen: 65536, Vocab: 32768, GatedMLP: true,
			Experts: 8, TopK: 2,
			Source: "mistralai/Mixtral-8x22B-v0.1 config.json (num_hidden_layers 56, hidden_size 6144, intermediate_size 16384, 48 heads, 8 KV heads, " +
				"num_local_experts 8, num_experts_per_tok 2, vocab 32768, max_position_embeddings 65536); Mistral AI release note 'Cheaper, Better, Faster, " +
				"Stronger' (2024-04-17): 141B total, 39B active parameters, 64K-token context window",
		},
		{
			Name: "deepseek-v3", Layers: 61, Hidden: 7168, Heads: 128, KVHeads: 128, FFNHidden: 18432, SeqLen: 4096, Vocab: 129280, GatedMLP: true,
			Experts: 256, TopK: 8, MoEFFNHidden: 2048, SharedExperts: 1, DenseLayers: 3, RouterGroups: 8, RouterGroupTopK: 4,
			QLoRARank: 1536, KVLoRARank: 512, QKRopeDim: 64, QKNopeDim: 128, VHeadDim: 128,
			Source: "DeepSeek-AI 2024 'DeepSeek-V3 Technical Report' arXiv:2412.19437 §4.2 (61 layers, hidden 7168, 128 heads, d_c 512, d_c' 1536, " +
				"per-head d_h 128 and rotary d_h^R 64, 1 shared + 256 routed experts of width 2048, 8 activated, first 3 layers dense, sequence length 4K, " +
				"671B total / 37B activated parameters) and deepseek-ai/DeepSeek-V3 config.json (intermediate_size 18432, vocab_size 129280, " +
				"v_head_dim 128; n_group 8, topk_group 4: §2.1.2's node-limited routing). The multi-token-prediction module (§2.2, depth 1; 14B with its own copies of the embedding and head) is left out " +
				"of the preset: set model.mtp_depth = 1 to train it",
		},
		{
			Name: "qwen3-30b-a3b", Layers: 48, Hidden: 2048, Heads: 32, KVHeads: 4, HeadSize: 128, FFNHidden: 6144, SeqLen: 4096, Vocab: 151936, GatedMLP: true,
			Experts: 128, TopK: 8, MoEFFNHidden: 768,
			Source: "Qwen/Qwen3-30B-A3B config.json (48 layers, hidden_size 2048, 32 heads, 4 KV heads, head_dim 128, num_experts 128, num_experts_per_tok 8, " +
				"moe_intermediate_size 768, intermediate_size 6144 (unused: every layer is MoE), vocab 151936, untied output); model card: 30.5B total, " +
				"3.3B activated; Yang et al. 2025 'Qwen3 Technical Report' arXiv:2505.09388 §3.2 (pre-training stages 1–2 at 4,096 tokens)",
		},
		{
			Name: "qwen3-235b-a22b", Layers: 94, Hidden: 4096, Heads: 64, KVHeads: 4, HeadSize: 128, FFNHidden: 12288, SeqLen: 4096, Vocab: 151936, GatedMLP: true,
			Experts: 128, TopK: 8, MoEFFNHidden: 1536,
			Source: "Qwen/Qwen3-235B-A22B config.json (94 layers, hidden_size 4096, 64 heads, 4 KV heads, head_dim 128, num_experts 128, num_experts_per_tok 8, " +
				"moe_intermediate_size 1536, vocab 151936, untied output); model card: 235B total, 22B activated; Qwen3 Technical Report arXiv:2505.09388 " +
				"Table 2 and §3.2 (4,096-token pre-training stages)",
		},
		{
			Name: "gpt-oss-120b", Layers: 36, Hidden: 2880, Heads: 64, KVHeads: 8, HeadSize: 64, FFNHidden: 2880, SeqLen: 4096, Vocab: 201088, GatedMLP: true,
			Experts: 128, TopK: 4, LinearBias: true,
			// Sliding window of 128 tokens on every other layer, the first
			// layer local: config.json sliding_window 128 and layer_types
			// alternating "sliding_attention" / "full_attention"; the model
			// card §2.1 (attention blocks alternate between a banded
			// window 128 tokens wide and full dense attention); Megatron-Bridge
			// GPTOSSProvider (gpt_oss_provider.py @ 5776a6d9) window_size
			// (128, 0), window_attn_skip_freq 2, which Megatron-Core's
			// is_layer_window_attention reads as layers 2, 4, … (from 1)
			// global. Megatron's (128, 0) lets a query see 128 keys before
			// it and itself, 129 in all, one more than the reference's 128.
			Window: 128, GlobalEvery: 2,
			Source: "openai/gpt-oss-120b config.json (num_hidden_layers 36, hidden_size 2880, intermediate_size 2880, 64 heads, 8 KV heads, head_dim 64, " +
				"num_local_experts 128, experts_per_token 4, vocab 201088, untied output, sliding_window 128 on alternate layers from the first); " +
				"OpenAI 2025 'gpt-oss-120b & gpt-oss-20b Model Card' Table 1 (116.83B total, 5.13B active per token, counting the unembedding but not " +
				"the embedding) and §2.1 (attention alternating between a 128-token banded window and full dense attention). Attention sinks are not " +
				"modelled; sequence length 4096 as NVIDIA's Megatron-Bridge GPT-OSS performance configurations train it (not a published pre-training figure)",
		},
		{
			Name: "llama3.1-405b", Layers: 126, Hidden: 16384, Heads: 128, KVHeads: 8, FFNHidden: 53248, SeqLen: 8192, Vocab: 128256, GatedMLP: true,
			Source: srcLlama3 + " (405B column; Llama 3.1 is the model that paper releases). Its pre-training ran at 8,192 tokens, " +
				"extended to 128K in a final long-context stage (§3.4.2), which a scenario sets with seq_len",
		},
	}
}

// Preset returns the built-in model called name, with Name filled in.
func Preset(name string) (Config, bool) {
	for _, c := range table() {
		if c.Name == name {
			return c, true
		}
	}
	return Config{}, false
}

// Presets returns every built-in model, sorted by name. The slice and its
// elements are fresh copies.
func Presets() []Config {
	cs := table()
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	return cs
}

// PresetNames lists the built-in models in sorted order.
func PresetNames() []string {
	cs := Presets()
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return names
}
