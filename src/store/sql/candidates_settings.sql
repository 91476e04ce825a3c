select set_config('work_mem', '32MB', true), set_config('jit', 'off', true)
