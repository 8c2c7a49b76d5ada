"""Collect episodes from a world with an exploration policy into an episode store.

    jepalab collect --world two-room --episodes 1000 --out data/two-room
    jepalab collect --env gymnasium:Reacher-v5 --episodes 200 --out data/reacher     # any rgb_array env
    jepalab collect --env gymnasium:Pusher-v5 --policy actions.npy --episodes 50 --out data/pusher

Episode i is generated from seed `seed + i`, so a collection that was
interrupted resumes where it stopped and yields the same data as one that ran
through.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..config import CHOICES
from ..worlds import make
from ..worlds.bounce import BARRIER_PROB, FAMILY_PROB, FPS, PASSIVE_OBJECTS
from .store import Episode, EpisodeStore


class HeldRandomPolicy:
    """Random exploration that holds a direction for a few steps (a persistent random walk).

    A fresh direction and speed are drawn with probability `switch_prob` per step; held
    actions carry the agent across rooms and through doors far more often than white
    noise does, which is what a world model needs to see.
    """

    def __init__(self, action_dim: int, rng: np.random.Generator, switch_prob: float = 0.15, noise: float = 0.1):
        self.dim, self.rng, self.switch_prob, self.noise = action_dim, rng, switch_prob, noise
        self.current = self._draw()

    def _draw(self) -> np.ndarray:
        direction = self.rng.normal(size=self.dim)
        direction /= np.linalg.norm(direction) + 1e-8
        return direction * self.rng.uniform(0.2, 1.0) * np.sqrt(self.dim)

    def __call__(self) -> np.ndarray:
        if self.rng.random() < self.switch_prob:
            self.current = self._draw()
        return np.clip(self.current + self.noise * self.rng.normal(size=self.dim), -1, 1).astype(np.float32)


class NoisyExpertPolicy:
    """The world's scripted expert (`env.unwrapped.expert_action()`) with Gaussian noise, taking turns
    with stretches of held random exploration (a switch with probability `switch_prob` per step): data
    that reaches goals, as a demonstrator's does, but also shows what off-course actions do. When the
    expert has reached its target (`expert_finished()`), worlds that can (`retarget(rng)`) give it a
    new one, so it is at work throughout the episode instead of standing still."""

    def __init__(self, env, rng: np.random.Generator, noise: float = 0.3, switch_prob: float = 0.1):
        u = env.unwrapped
        if not getattr(u, "has_expert", hasattr(u, "expert_action")):
            from .store import DataError

            raise DataError(f"{type(env.unwrapped).__name__} has no scripted expert; use --policy random or a file")
        self.env, self.rng, self.noise, self.switch_prob = env, rng, noise, switch_prob
        self.random = HeldRandomPolicy(env.action_space.shape[0], rng)
        self.exploring = switch_prob > 0 and rng.random() < 0.3

    act, finished = "expert_action", "expert_finished"  # the world's methods this policy calls

    def __call__(self) -> np.ndarray:
        u = self.env.unwrapped
        if hasattr(u, "retarget") and getattr(u, self.finished, lambda: False)():
            u.retarget(self.rng)
        if self.rng.random() < self.switch_prob:
            self.exploring = not self.exploring
        if self.exploring:
            return self.random()
        a = getattr(u, self.act)() + self.noise * self.rng.normal(size=self.env.action_space.shape[0])
        return np.clip(a, -1, 1).astype(np.float32)


class PoseExpertPolicy(NoisyExpertPolicy):
    """The push worlds' pose expert (turns the block to the target's angle, then pushes it to its
    place; worlds/push_expert.py), noisy and with exploring stretches as NoisyExpertPolicy, a new
    target pose each time one is reached: demonstrations in which the block turns on purpose."""

    act, finished = "pose_expert_action", "pose_expert_finished"

    def __init__(self, env, rng: np.random.Generator, noise: float = 0.2, switch_prob: float = 0.05):
        if not hasattr(type(env.unwrapped), "pose_expert_action"):
            from .store import DataError

            raise DataError(f"{type(env.unwrapped).__name__} has no pose expert; pose-expert is for push and push-t")
        super().__init__(env, rng, noise, switch_prob)


class NearBlockPolicy:
    """Random pokes at the block (push worlds): the pusher heads for a random point within `reach` of
    the block's centre, held for 3-8 steps, with noise. Unlike the expert, which pushes through the
    centre and so hardly turns the block, it touches the block from every side and off-centre, so
    turns are frequent: data in which the block's angle matters (stable-worldmodel's Push-T collects
    with the same idea). Its moves follow the block as it goes."""

    def __init__(self, env, rng: np.random.Generator, reach: float = 0.15, noise: float = 0.2):
        u = env.unwrapped
        if not (hasattr(type(u), "block_pose") and hasattr(type(u), "pusher_pos")):  # properties: not before reset
            from .store import DataError

            raise DataError(f"{type(u).__name__} has no block to poke at; near-block is for push and push-t")
        from ..worlds.push_geometry import MAX_STEP

        self.env, self.rng, self.reach, self.noise, self.max_step = env, rng, reach, noise, MAX_STEP
        self.offset, self.left = np.zeros(2), 0

    def __call__(self) -> np.ndarray:
        u = self.env.unwrapped
        if self.left <= 0:
            self.offset, self.left = self.rng.uniform(-self.reach, self.reach, 2), int(self.rng.integers(3, 9))
        self.left -= 1
        step = (u.block_pose[0] + self.offset - u.pusher_pos) / self.max_step
        step = step / max(1.0, float(np.abs(step).max()))  # the whole way, or as far as one step goes
        return np.clip(step + self.noise * self.rng.normal(size=2), -1, 1).astype(np.float32)


# by name; "random": held random exploration
POLICIES = {"noisy-expert": NoisyExpertPolicy, "near-block": NearBlockPolicy, "pose-expert": PoseExpertPolicy}


class ReplayPolicy:
    """Actions from a file: a .npy array (episodes, steps, action_dim) in [-1, 1], episode i's row
    replayed in order (loaded without pickle; nothing in it runs)."""

    def __init__(self, path, episodes: int, steps: int, action_dim: int):
        from .store import DataError

        try:
            table = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise DataError(f"{path}: not a .npy array of actions ({e})") from None
        want = f"(>= {episodes}, >= {steps}, {action_dim})"
        if table.ndim != 3 or table.shape[0] < episodes or table.shape[1] < steps or table.shape[2] != action_dim:
            raise DataError(
                f"{path}: actions must be {want} for {episodes} episodes of {steps} steps, got {table.shape}"
            )
        if not np.issubdtype(table.dtype, np.floating):
            raise DataError(f"{path}: actions must be floats, got dtype {table.dtype}")
        if not np.isfinite(table).all():
            e, t, _ = np.argwhere(~np.isfinite(table))[0]
            raise DataError(f"{path}: actions hold NaN or inf (first at episode {e}, step {t})")
        self.table = table.astype(np.float32)

    def episode(self, i: int):
        rows = iter(np.clip(self.table[i], -1, 1))
        return lambda: next(rows)


def rollout_episode(env, steps: int, seed: int, policy=None, until_done: bool = False) -> Episode:
    """One episode; `policy` () -> action (default: held random from `seed`). Keeps what the world
    reports beside pixels and proprio: rewards, the true state, the goal. until_done: end the
    episode early when the env says it is over (a gymnasium env must not be stepped past that;
    built-in worlds can go on after reaching a goal, which shows the model more)."""
    obs, info = env.reset(seed=seed)
    policy = policy or HeldRandomPolicy(env.action_space.shape[0], np.random.default_rng(seed))
    pixels, proprio, actions, rewards, states = [obs["pixels"]], [obs["proprio"]], [], [], [info.get("state")]
    depth = [obs["depth"]] if "depth" in obs else None
    for _ in range(steps):
        a = policy()
        obs, reward, terminated, truncated, info = env.step(a)
        actions.append(a)
        rewards.append(reward)
        pixels.append(obs["pixels"])
        proprio.append(obs["proprio"])
        states.append(info.get("state"))
        if depth is not None:
            depth.append(obs["depth"])
        if until_done and (terminated or truncated):
            break
    f32 = lambda x: np.asarray(x, np.float32)  # noqa: E731
    return Episode(
        np.stack(pixels),
        f32(np.stack(actions)),
        f32(np.stack(proprio)),
        rewards=f32(rewards),
        state=f32(np.stack(states)) if states[0] is not None else None,
        goal_proprio=f32(info["goal_proprio"]) if "goal_proprio" in info else None,
        goal_pixels=info.get("goal"),
        depth=None if depth is None else f32(np.stack(depth)),
        goal_depth=f32(info["goal_depth"]) if "goal_depth" in info else None,
    )


# data.policy -> how a store's dataset.json names it (a replayed file: "replay NAME")
STORE_POLICIES = {name: name for name in POLICIES} | {"random": "held-random"}


def _checked_variety(variety: str) -> str:
    if variety not in CHOICES["data.variety"]:
        raise ValueError(
            f"data.variety must be {', '.join(CHOICES['data.variety'][:-1])} or "
            f"{CHOICES['data.variety'][-1]}, got {variety!r}"
        )
    return variety


def passive_episode(steps: int, seed: int, variety: str = "none") -> Episode:
    """A `bounce` clip as an episode: nothing acts in a passive world, so its one action dimension is
    zero ("the agent does nothing"; with variety wide-rate, the clip's frame interval), proprio
    carries the objects' true positions for probes, and audio the sound of its collisions
    (worlds/bounce_sound.py)."""
    from ..worlds.bounce import sample_mixed_scene, simulate

    scene = sample_mixed_scene(np.random.default_rng(seed), steps + 1, FAMILY_PROB, BARRIER_PROB)
    if _checked_variety(variety) != "none":  # another look, camera (and pace) for every clip (worlds/bounce_style.py)
        from ..worlds.bounce_style import picture_only, sample_style, styled_scene

        style = sample_style(np.random.default_rng([seed, 1]))
        scene = styled_scene(scene, picture_only(style) if variety == "picture" else style)
    clip = simulate(scene)
    frames = clip.frames
    if scene.style is not None:
        from ..worlds.bounce_style import film

        frames = film(frames, scene.style, seed)
    state = np.zeros((steps + 1, PASSIVE_OBJECTS, 2), np.float32)
    state[:, : clip.positions.shape[1]] = clip.positions * clip.present[..., None]
    from ..worlds.bounce_sound import frame_features, impact_sound

    audio = frame_features(impact_sound(clip.collisions, scene.fps, seed), scene.fps)  # each collision is heard
    # wide-rate: the frame interval as the action, in units of bounce's own (zero at its 10 fps), so
    # that a faster film is not read as other physics; otherwise the agent does nothing
    rate = FPS / scene.fps - 1.0 if variety == "wide-rate" else 0.0
    return Episode(frames, np.full((steps, 1), rate, np.float32), state.reshape(steps + 1, -1), audio=audio)


def collect(
    world: str,
    episodes: int,
    steps: int,
    out,
    seed: int = 0,
    progress: bool = True,
    policy: str = "random",
    image_size: int = 64,
    depth_size: int = 0,
    variety: str = "none",
) -> EpisodeStore:
    """Write `episodes` episodes of `steps` steps each; skips the ones already on disk. `world`: a
    built-in world or `gymnasium:ID`; `policy`: random (held random exploration), noisy-expert (for
    worlds with a scripted expert, e.g. push), near-block (push worlds: random pokes at the block,
    which turn it) or a .npy file of actions (see ReplayPolicy);
    depth_size: also store MuJoCo depth maps of this size (gymnasium MuJoCo envs); variety: bounce
    drawn and filmed many ways ("wide", worlds/bounce_style.py) or its own way ("none")."""
    if world == "bounce":  # the variety is checked before a store is made for it
        variety = _checked_variety(variety)
        return _collect_passive(episodes, steps, out, seed, progress, variety)
    if variety != "none":
        raise ValueError(f"data.variety={variety} is bounce's; {world!r} is drawn one way")
    # max_steps beyond `steps`: no time limit cuts a collection episode short, and a built-in world
    # goes on after reaching a goal; a gymnasium env that ends its episode ends the stored one.
    from ..worlds import DRAWN_AT_ANY_SIZE

    kwargs = {"image_size": image_size} if world.startswith("gymnasium:") else {"goal_mode": "anywhere"}
    if world in DRAWN_AT_ANY_SIZE:
        kwargs["image_size"] = image_size
    if depth_size:
        if not world.startswith("gymnasium:"):
            raise ValueError(f"depth maps come from MuJoCo envs (gymnasium:ID); {world!r} has none")
        kwargs["depth_size"] = depth_size
    env = make(world, max_steps=steps + 1, **kwargs)
    try:
        n, A = env.observation_space["pixels"].shape[0], int(env.action_space.shape[0])
        replay = None if policy == "random" or policy in POLICIES else ReplayPolicy(policy, episodes, steps, A)

        def policy_for(i: int):
            if replay is not None:
                return replay.episode(i)
            return POLICIES[policy](env, np.random.default_rng(seed + i)) if policy in POLICIES else None

        policy_for(0)  # a policy that cannot run here (a world without an expert) fails before anything is written
        store = EpisodeStore.create(
            out,
            {
                "world": world,
                "steps_per_episode": steps,
                "seed": seed,
                "image_size": n,
                "action_dim": A,
                "proprio_dim": int(env.observation_space["proprio"].shape[0]),
                "policy": STORE_POLICIES.get(policy, f"replay {Path(policy).name}"),
                **({"depth_size": depth_size} if depth_size else {}),
            },
        )
        done = store.indices()
        todo = [i for i in range(episodes) if i not in done]
        for i in tqdm(todo, desc=f"collect {world}", unit="ep", disable=not progress):
            store.append(
                rollout_episode(env, steps, seed + i, policy_for(i), until_done=world.startswith("gymnasium:")), i
            )
    finally:
        env.close()
    return store


def collected_with(meta: dict) -> dict:
    """The data.* settings a store's dataset.json says it was collected with (world, steps, seed,
    policy, bounce's variety; episodes where the caller counted them), leaving out what it does not
    say: a replayed file, an imported store's unknown seed."""
    said = {k: meta.get(k) for k in ("world", "episodes", "steps_per_episode", "seed")}
    said["policy"] = {v: k for k, v in STORE_POLICIES.items()}.get(meta.get("policy"))
    if meta.get("world") == "bounce":
        said["variety"] = stored_variety(meta)
    return {k: v for k, v in said.items() if v is not None}


def stored_variety(meta: dict) -> str:
    """A bounce store's variety: its dataset.json names one only when it is not the default."""
    return meta.get("variety", "none")


def _collect_passive(episodes: int, steps: int, out, seed: int, progress: bool, variety: str) -> EpisodeStore:
    from ..worlds.bounce import SIZE

    store = EpisodeStore.create(
        out,
        {
            "world": "bounce",
            "steps_per_episode": steps,
            "seed": seed,
            "image_size": SIZE,
            "action_dim": 1,
            "proprio_dim": 2 * PASSIVE_OBJECTS,
            "policy": "none (passive world: zero actions)",
            "scenes": f"bounce mixed: families {FAMILY_PROB}, barriers {BARRIER_PROB}",
            **({"variety": variety} if variety != "none" else {}),
        },
    )
    held = stored_variety(store.meta())
    if held != variety:
        raise ValueError(f"{out}: holds bounce with variety {held!r}, not {variety!r}; collect into another folder")
    done = store.indices()
    for i in tqdm(
        [i for i in range(episodes) if i not in done], desc="collect bounce", unit="ep", disable=not progress
    ):
        store.append(passive_episode(steps, seed + i, variety), i)
    return store
